"""The TAXII 2.1 baseline: medallion (the OASIS reference server) under waitress.

    python bench/harness/taxii_server.py PORT_FILE [--threads 4]

medallion's memory backend holds one API root, `silkline`, with one writable
collection (COLLECTION_ID); user `bench`, password `bench`. waitress, a
production WSGI server, serves it in this process on a free port of
127.0.0.1, which is written to PORT_FILE once it listens. Plain HTTP: waitress
does no TLS, so this baseline pays for none.
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
from pathlib import Path

import medallion
from waitress.server import create_server

API_ROOT = "silkline"
COLLECTION_ID = "2b7e6d4c-0c3e-4a57-9d3b-5e8f1a2c9b10"
USER = ("bench", "bench")
MEDIA_TAXII = "application/taxii+json;version=2.1"
MEDIA_STIX = "application/stix+json;version=2.1"


def configuration() -> dict[str, object]:
    """medallion's configuration: users, the memory backend and its initial data."""
    return {
        "users": {USER[0]: USER[1]},
        "taxii": {"max_page_size": 100},
        "backend": {"module_class": "MemoryBackend", "module": "medallion.backends.memory_backend"},
        "data": {
            "/discovery": {
                "title": "silkline benchmark",
                "api_roots": [],
            },
            API_ROOT: {
                "information": {
                    "title": "silkline benchmark",
                    "versions": [MEDIA_TAXII],
                    "max_content_length": 10_485_760,
                },
                "status": [],
                "collections": [
                    {
                        "id": COLLECTION_ID,
                        "title": "seizure alerts",
                        "can_read": True,
                        "can_write": True,
                        "media_types": [MEDIA_STIX],
                        "objects": [],
                        "manifest": [],
                    }
                ],
            },
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("port_file", type=Path)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    logging.getLogger("medallion").setLevel(logging.ERROR)
    config = configuration()
    with tempfile.TemporaryDirectory(prefix="silkline-bench-taxii-") as work:
        data = Path(work) / "data.json"
        data.write_text(json.dumps(config.pop("data")))
        config["backend"]["filename"] = str(data)  # type: ignore[index]
        settings = Path(work) / "medallion.json"
        settings.write_text(json.dumps(config))
        app = medallion.load_app(str(settings))
    server = create_server(app, host="127.0.0.1", port=0, threads=args.threads)
    partial = args.port_file.with_suffix(".partial")
    partial.write_text(str(server.effective_port))  # type: ignore[union-attr]
    partial.replace(args.port_file)
    server.run()


if __name__ == "__main__":
    main()
