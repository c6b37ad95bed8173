# Generated from proto/silkline/v1 by `make proto` (grpcio-tools). DO NOT EDIT.
import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class WhoAmIRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class WhoAmIResponse(_message.Message):
    __slots__ = ("participant", "agency", "client_name", "roles", "identity_uri", "certificate_sha256", "certificate_not_after")
    PARTICIPANT_FIELD_NUMBER: _ClassVar[int]
    AGENCY_FIELD_NUMBER: _ClassVar[int]
    CLIENT_NAME_FIELD_NUMBER: _ClassVar[int]
    ROLES_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_URI_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATE_SHA256_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATE_NOT_AFTER_FIELD_NUMBER: _ClassVar[int]
    participant: str
    agency: str
    client_name: str
    roles: _containers.RepeatedScalarFieldContainer[str]
    identity_uri: str
    certificate_sha256: str
    certificate_not_after: _timestamp_pb2.Timestamp
    def __init__(self, participant: _Optional[str] = ..., agency: _Optional[str] = ..., client_name: _Optional[str] = ..., roles: _Optional[_Iterable[str]] = ..., identity_uri: _Optional[str] = ..., certificate_sha256: _Optional[str] = ..., certificate_not_after: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ReloadRulesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ReloadRulesResponse(_message.Message):
    __slots__ = ("rules_sha256", "loaded_at")
    RULES_SHA256_FIELD_NUMBER: _ClassVar[int]
    LOADED_AT_FIELD_NUMBER: _ClassVar[int]
    rules_sha256: str
    loaded_at: _timestamp_pb2.Timestamp
    def __init__(self, rules_sha256: _Optional[str] = ..., loaded_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
