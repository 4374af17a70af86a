"""The providers the server mounts, by import path (module:Class)."""

PROVIDERS: list[str] = [
    "cloudlet.services.iam.provider:IamProvider",
    "cloudlet.services.sts.provider:StsProvider",
    "cloudlet.services.ec2.provider:Ec2Provider",
    "cloudlet.services.elasticache.provider:ElastiCacheProvider",
    "cloudlet.services.lambda_.provider:LambdaProvider",
    "cloudlet.services.logs.provider:LogsProvider",
]
