#!/bin/sh
# Like the official redis image's entry point: options alone run redis-server with them; redis-server gets
# protected mode off unless the command sets it (the official image is built with that default).
set -e
case "$1" in -*) set -- redis-server "$@" ;; esac
if [ "$1" = redis-server ]; then
  shift
  case " $* " in *" --protected-mode "*) ;; *) set -- --protected-mode no "$@" ;; esac
  set -- redis-server "$@"
fi
exec "$@"
