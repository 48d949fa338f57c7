"""Who may ask for work and how much: API keys (stored hashed, compared in constant time) and per-client
rate limits measured in cost (sketch evaluations), in-process or shared through Redis."""
