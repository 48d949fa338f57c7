"""The web page at / (issue 16): its static assets, GET /v1/examples and the tool that builds the examples."""
