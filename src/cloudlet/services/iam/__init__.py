"""IAM: roles, users, groups, managed and inline policies, access keys."""
