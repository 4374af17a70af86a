"""AWS Lambda: the API (provider) and the execution environments (runtime host)."""
