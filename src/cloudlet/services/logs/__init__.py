"""CloudWatch Logs: log groups, streams and events, with the filter pattern language."""
