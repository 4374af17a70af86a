"""CloudWatch metrics: PutMetricData, GetMetricData, GetMetricStatistics, ListMetrics, and the
MetricSink other services emit AWS/Lambda and AWS/ElastiCache metrics through."""
