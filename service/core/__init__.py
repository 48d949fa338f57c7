"""What every part of the service uses: settings, errors and their problem+json answers, metrics."""
