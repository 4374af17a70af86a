"""EC2: each region's default VPC, its subnets and security groups."""
