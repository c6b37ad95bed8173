"""Automated feeds: turning a seizure system's exports into signed records, deterministically.

Pure: text in, payloads and identities out; no network and no files (the
`silkline feed` command reads inputs, keeps the checkpoint and the dead-letter
file, and streams to the server).

- `identity`: record ids, creation times and disclosure salts derived from the
  source, so that a re-run after a crash sends byte-identical envelopes.
- `mapping`: the TOML file that maps a CSV export's columns to a record body.
- `sources`: JSONL lines and CSV rows into `FeedRecord`s, or a `FeedInputError`
  that names what is wrong with the line.
- `sample`: realistic seizure alerts for demos, tests and benchmarks.
"""
