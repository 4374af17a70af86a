"""cloudlet: ElastiCache Serverless (Valkey) + IAM auth + Lambda, for real, on one machine."""

__version__ = "0.1.0"
