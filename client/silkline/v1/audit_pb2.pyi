# Generated from proto/silkline/v1 by `make proto` (grpcio-tools). DO NOT EDIT.
import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AccessDecision(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ACCESS_DECISION_UNSPECIFIED: _ClassVar[AccessDecision]
    ACCESS_DECISION_ALLOWED: _ClassVar[AccessDecision]
    ACCESS_DECISION_DENIED: _ClassVar[AccessDecision]
ACCESS_DECISION_UNSPECIFIED: AccessDecision
ACCESS_DECISION_ALLOWED: AccessDecision
ACCESS_DECISION_DENIED: AccessDecision

class GetCheckpointRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetCheckpointResponse(_message.Message):
    __slots__ = ("checkpoint",)
    CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    checkpoint: bytes
    def __init__(self, checkpoint: _Optional[bytes] = ...) -> None: ...

class GetInclusionProofRequest(_message.Message):
    __slots__ = ("log_index", "record_id", "tree_size")
    LOG_INDEX_FIELD_NUMBER: _ClassVar[int]
    RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    TREE_SIZE_FIELD_NUMBER: _ClassVar[int]
    log_index: int
    record_id: str
    tree_size: int
    def __init__(self, log_index: _Optional[int] = ..., record_id: _Optional[str] = ..., tree_size: _Optional[int] = ...) -> None: ...

class GetInclusionProofResponse(_message.Message):
    __slots__ = ("log_index", "tree_size", "hashes", "checkpoint")
    LOG_INDEX_FIELD_NUMBER: _ClassVar[int]
    TREE_SIZE_FIELD_NUMBER: _ClassVar[int]
    HASHES_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    log_index: int
    tree_size: int
    hashes: _containers.RepeatedScalarFieldContainer[bytes]
    checkpoint: bytes
    def __init__(self, log_index: _Optional[int] = ..., tree_size: _Optional[int] = ..., hashes: _Optional[_Iterable[bytes]] = ..., checkpoint: _Optional[bytes] = ...) -> None: ...

class GetConsistencyProofRequest(_message.Message):
    __slots__ = ("first_tree_size", "second_tree_size")
    FIRST_TREE_SIZE_FIELD_NUMBER: _ClassVar[int]
    SECOND_TREE_SIZE_FIELD_NUMBER: _ClassVar[int]
    first_tree_size: int
    second_tree_size: int
    def __init__(self, first_tree_size: _Optional[int] = ..., second_tree_size: _Optional[int] = ...) -> None: ...

class GetConsistencyProofResponse(_message.Message):
    __slots__ = ("hashes",)
    HASHES_FIELD_NUMBER: _ClassVar[int]
    hashes: _containers.RepeatedScalarFieldContainer[bytes]
    def __init__(self, hashes: _Optional[_Iterable[bytes]] = ...) -> None: ...

class ListEntriesRequest(_message.Message):
    __slots__ = ("start_index", "end_index")
    START_INDEX_FIELD_NUMBER: _ClassVar[int]
    END_INDEX_FIELD_NUMBER: _ClassVar[int]
    start_index: int
    end_index: int
    def __init__(self, start_index: _Optional[int] = ..., end_index: _Optional[int] = ...) -> None: ...

class LogEntry(_message.Message):
    __slots__ = ("index", "leaf")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    LEAF_FIELD_NUMBER: _ClassVar[int]
    index: int
    leaf: bytes
    def __init__(self, index: _Optional[int] = ..., leaf: _Optional[bytes] = ...) -> None: ...

class ListEntriesResponse(_message.Message):
    __slots__ = ("entries",)
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[LogEntry]
    def __init__(self, entries: _Optional[_Iterable[_Union[LogEntry, _Mapping]]] = ...) -> None: ...

class AddCosignatureRequest(_message.Message):
    __slots__ = ("cosigned_checkpoint",)
    COSIGNED_CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    cosigned_checkpoint: bytes
    def __init__(self, cosigned_checkpoint: _Optional[bytes] = ...) -> None: ...

class AddCosignatureResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetRecordProofRequest(_message.Message):
    __slots__ = ("record_id",)
    RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    record_id: str
    def __init__(self, record_id: _Optional[str] = ...) -> None: ...

class GetRecordProofResponse(_message.Message):
    __slots__ = ("tlog_proof",)
    TLOG_PROOF_FIELD_NUMBER: _ClassVar[int]
    tlog_proof: bytes
    def __init__(self, tlog_proof: _Optional[bytes] = ...) -> None: ...

class AccessEvent(_message.Message):
    __slots__ = ("sequence", "at", "reader_participant", "reader_agency", "reader_client", "record_id", "action", "decision", "reasons", "disclosed_classes", "withheld_classes", "rules_sha256")
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    READER_PARTICIPANT_FIELD_NUMBER: _ClassVar[int]
    READER_AGENCY_FIELD_NUMBER: _ClassVar[int]
    READER_CLIENT_FIELD_NUMBER: _ClassVar[int]
    RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    DECISION_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    DISCLOSED_CLASSES_FIELD_NUMBER: _ClassVar[int]
    WITHHELD_CLASSES_FIELD_NUMBER: _ClassVar[int]
    RULES_SHA256_FIELD_NUMBER: _ClassVar[int]
    sequence: int
    at: _timestamp_pb2.Timestamp
    reader_participant: str
    reader_agency: str
    reader_client: str
    record_id: str
    action: str
    decision: AccessDecision
    reasons: _containers.RepeatedScalarFieldContainer[str]
    disclosed_classes: _containers.RepeatedScalarFieldContainer[str]
    withheld_classes: _containers.RepeatedScalarFieldContainer[str]
    rules_sha256: str
    def __init__(self, sequence: _Optional[int] = ..., at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., reader_participant: _Optional[str] = ..., reader_agency: _Optional[str] = ..., reader_client: _Optional[str] = ..., record_id: _Optional[str] = ..., action: _Optional[str] = ..., decision: _Optional[_Union[AccessDecision, str]] = ..., reasons: _Optional[_Iterable[str]] = ..., disclosed_classes: _Optional[_Iterable[str]] = ..., withheld_classes: _Optional[_Iterable[str]] = ..., rules_sha256: _Optional[str] = ...) -> None: ...

class ListAccessEventsRequest(_message.Message):
    __slots__ = ("record_id", "reader", "since", "page_size", "page_token")
    RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    READER_FIELD_NUMBER: _ClassVar[int]
    SINCE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    record_id: str
    reader: str
    since: _timestamp_pb2.Timestamp
    page_size: int
    page_token: str
    def __init__(self, record_id: _Optional[str] = ..., reader: _Optional[str] = ..., since: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListAccessEventsResponse(_message.Message):
    __slots__ = ("events", "next_page_token")
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[AccessEvent]
    next_page_token: str
    def __init__(self, events: _Optional[_Iterable[_Union[AccessEvent, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...
