"""The one exception type every layer raises for an AWS-shaped error.

The protocol layer serializes it for the service's protocol; the HTTP status and
sender/receiver fault come from the model's error shape when the code names one,
else from the explicit values given here.
"""

from __future__ import annotations


class AWSError(Exception):
    def __init__(
        self,
        code: str,
        message: str = "",
        status: int | None = None,
        sender_fault: bool | None = None,
        headers: dict[str, str] | None = None,
        fields: dict[str, object] | None = None,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        # None: take it from the model's error shape (default 400 / sender).
        self.status = status
        self.sender_fault = sender_fault
        # Extra response headers (rest-json) and extra members of the error shape.
        self.headers = headers or {}
        self.fields = fields or {}
