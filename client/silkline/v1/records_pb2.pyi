# Generated from proto/silkline/v1 by `make proto` (grpcio-tools). DO NOT EDIT.
import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SignedRecord(_message.Message):
    __slots__ = ("envelope", "disclosures", "signer_certificate")
    ENVELOPE_FIELD_NUMBER: _ClassVar[int]
    DISCLOSURES_FIELD_NUMBER: _ClassVar[int]
    SIGNER_CERTIFICATE_FIELD_NUMBER: _ClassVar[int]
    envelope: bytes
    disclosures: _containers.RepeatedScalarFieldContainer[str]
    signer_certificate: bytes
    def __init__(self, envelope: _Optional[bytes] = ..., disclosures: _Optional[_Iterable[str]] = ..., signer_certificate: _Optional[bytes] = ...) -> None: ...

class RecordHeader(_message.Message):
    __slots__ = ("record_id", "record_type", "originator_participant", "originator_agency", "created_at", "accepted_at", "log_index", "envelope_sha256", "tlp", "handling")
    RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    RECORD_TYPE_FIELD_NUMBER: _ClassVar[int]
    ORIGINATOR_PARTICIPANT_FIELD_NUMBER: _ClassVar[int]
    ORIGINATOR_AGENCY_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_AT_FIELD_NUMBER: _ClassVar[int]
    LOG_INDEX_FIELD_NUMBER: _ClassVar[int]
    ENVELOPE_SHA256_FIELD_NUMBER: _ClassVar[int]
    TLP_FIELD_NUMBER: _ClassVar[int]
    HANDLING_FIELD_NUMBER: _ClassVar[int]
    record_id: str
    record_type: str
    originator_participant: str
    originator_agency: str
    created_at: _timestamp_pb2.Timestamp
    accepted_at: _timestamp_pb2.Timestamp
    log_index: int
    envelope_sha256: str
    tlp: str
    handling: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, record_id: _Optional[str] = ..., record_type: _Optional[str] = ..., originator_participant: _Optional[str] = ..., originator_agency: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., accepted_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., log_index: _Optional[int] = ..., envelope_sha256: _Optional[str] = ..., tlp: _Optional[str] = ..., handling: _Optional[_Iterable[str]] = ...) -> None: ...

class Receipt(_message.Message):
    __slots__ = ("record_id", "envelope_sha256", "log_index", "accepted_at", "signed_receipt")
    RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    ENVELOPE_SHA256_FIELD_NUMBER: _ClassVar[int]
    LOG_INDEX_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_AT_FIELD_NUMBER: _ClassVar[int]
    SIGNED_RECEIPT_FIELD_NUMBER: _ClassVar[int]
    record_id: str
    envelope_sha256: str
    log_index: int
    accepted_at: _timestamp_pb2.Timestamp
    signed_receipt: bytes
    def __init__(self, record_id: _Optional[str] = ..., envelope_sha256: _Optional[str] = ..., log_index: _Optional[int] = ..., accepted_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., signed_receipt: _Optional[bytes] = ...) -> None: ...

class RecordView(_message.Message):
    __slots__ = ("header", "record", "receipt", "withheld_classes", "erased_classes")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    RECORD_FIELD_NUMBER: _ClassVar[int]
    RECEIPT_FIELD_NUMBER: _ClassVar[int]
    WITHHELD_CLASSES_FIELD_NUMBER: _ClassVar[int]
    ERASED_CLASSES_FIELD_NUMBER: _ClassVar[int]
    header: RecordHeader
    record: SignedRecord
    receipt: Receipt
    withheld_classes: _containers.RepeatedScalarFieldContainer[str]
    erased_classes: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, header: _Optional[_Union[RecordHeader, _Mapping]] = ..., record: _Optional[_Union[SignedRecord, _Mapping]] = ..., receipt: _Optional[_Union[Receipt, _Mapping]] = ..., withheld_classes: _Optional[_Iterable[str]] = ..., erased_classes: _Optional[_Iterable[str]] = ...) -> None: ...

class PublishRequest(_message.Message):
    __slots__ = ("record",)
    RECORD_FIELD_NUMBER: _ClassVar[int]
    record: SignedRecord
    def __init__(self, record: _Optional[_Union[SignedRecord, _Mapping]] = ...) -> None: ...

class PublishResponse(_message.Message):
    __slots__ = ("receipt",)
    RECEIPT_FIELD_NUMBER: _ClassVar[int]
    receipt: Receipt
    def __init__(self, receipt: _Optional[_Union[Receipt, _Mapping]] = ...) -> None: ...

class PublishStreamRequest(_message.Message):
    __slots__ = ("sequence", "record")
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    RECORD_FIELD_NUMBER: _ClassVar[int]
    sequence: int
    record: SignedRecord
    def __init__(self, sequence: _Optional[int] = ..., record: _Optional[_Union[SignedRecord, _Mapping]] = ...) -> None: ...

class FieldViolation(_message.Message):
    __slots__ = ("field", "description")
    FIELD_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    field: str
    description: str
    def __init__(self, field: _Optional[str] = ..., description: _Optional[str] = ...) -> None: ...

class ItemError(_message.Message):
    __slots__ = ("code", "message", "field_violations")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    FIELD_VIOLATIONS_FIELD_NUMBER: _ClassVar[int]
    code: int
    message: str
    field_violations: _containers.RepeatedCompositeFieldContainer[FieldViolation]
    def __init__(self, code: _Optional[int] = ..., message: _Optional[str] = ..., field_violations: _Optional[_Iterable[_Union[FieldViolation, _Mapping]]] = ...) -> None: ...

class PublishStreamResponse(_message.Message):
    __slots__ = ("sequence", "receipt", "error")
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    RECEIPT_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    sequence: int
    receipt: Receipt
    error: ItemError
    def __init__(self, sequence: _Optional[int] = ..., receipt: _Optional[_Union[Receipt, _Mapping]] = ..., error: _Optional[_Union[ItemError, _Mapping]] = ...) -> None: ...

class GetRequest(_message.Message):
    __slots__ = ("record_id",)
    RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    record_id: str
    def __init__(self, record_id: _Optional[str] = ...) -> None: ...

class GetResponse(_message.Message):
    __slots__ = ("record",)
    RECORD_FIELD_NUMBER: _ClassVar[int]
    record: RecordView
    def __init__(self, record: _Optional[_Union[RecordView, _Mapping]] = ...) -> None: ...

class RecordFilter(_message.Message):
    __slots__ = ("record_types", "originators", "since")
    RECORD_TYPES_FIELD_NUMBER: _ClassVar[int]
    ORIGINATORS_FIELD_NUMBER: _ClassVar[int]
    SINCE_FIELD_NUMBER: _ClassVar[int]
    record_types: _containers.RepeatedScalarFieldContainer[str]
    originators: _containers.RepeatedScalarFieldContainer[str]
    since: _timestamp_pb2.Timestamp
    def __init__(self, record_types: _Optional[_Iterable[str]] = ..., originators: _Optional[_Iterable[str]] = ..., since: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListRequest(_message.Message):
    __slots__ = ("filter", "page_size", "page_token")
    FILTER_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    filter: RecordFilter
    page_size: int
    page_token: str
    def __init__(self, filter: _Optional[_Union[RecordFilter, _Mapping]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListResponse(_message.Message):
    __slots__ = ("records", "next_page_token")
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    records: _containers.RepeatedCompositeFieldContainer[RecordView]
    next_page_token: str
    def __init__(self, records: _Optional[_Iterable[_Union[RecordView, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class SubscribeRequest(_message.Message):
    __slots__ = ("filter", "cursor")
    FILTER_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    filter: RecordFilter
    cursor: int
    def __init__(self, filter: _Optional[_Union[RecordFilter, _Mapping]] = ..., cursor: _Optional[int] = ...) -> None: ...

class Heartbeat(_message.Message):
    __slots__ = ("at",)
    AT_FIELD_NUMBER: _ClassVar[int]
    at: _timestamp_pb2.Timestamp
    def __init__(self, at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class SubscribeResponse(_message.Message):
    __slots__ = ("record", "heartbeat", "next_cursor")
    RECORD_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_FIELD_NUMBER: _ClassVar[int]
    NEXT_CURSOR_FIELD_NUMBER: _ClassVar[int]
    record: RecordView
    heartbeat: Heartbeat
    next_cursor: int
    def __init__(self, record: _Optional[_Union[RecordView, _Mapping]] = ..., heartbeat: _Optional[_Union[Heartbeat, _Mapping]] = ..., next_cursor: _Optional[int] = ...) -> None: ...
