"""What AWS's control planes accept as an ARN at all, before looking anything up.

``arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`` with partition, service and
resource non-empty (region and account may be empty, as in IAM's own ARNs).
IAM refuses anything else with "Invalid ARN:  Could not be parsed!", STS with
"VALUE is invalid" (both recorded against AWS).
"""

from __future__ import annotations

import re

ARN_SHAPE = re.compile(r"arn:[^:]+:[^:]+:[^:]*:[^:]*:.+", re.DOTALL)


def is_arn(value: str) -> bool:
    return ARN_SHAPE.fullmatch(value) is not None
