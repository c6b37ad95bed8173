"""The tamper-evident log above the store: signed checkpoints, their publication, cosignatures.

The store appends leaves and their subtree hashes in the same transaction as
what they log (`silkline_server.store`); this package signs what the store
holds (`checkpoints`), publishes a new checkpoint after commits at most once
a second (`checkpointer`), and judges witnesses' cosignatures (`cosignatures`).
"""
