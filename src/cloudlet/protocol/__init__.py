"""botocore-model-driven wire protocols: query, ec2, json, rest-json, smithy-rpc-v2-cbor.

Contract (see docs/ARCHITECTURE.md):
    proto = get_protocol("iam")                       # cached per service
    proto = protocol_for_request("cloudwatch", req)   # a model with several protocols
    op_name, params = proto.parse_request(http_req)   # AWSError on bad input
    http_resp = proto.serialize_response(op_name, result_dict, request_id)
    http_resp = proto.serialize_error(aws_error, op_name_or_None, request_id)
"""
