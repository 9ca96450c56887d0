"""Executes a notebook headless with nbclient and records every update_display_data message.

nbclient applies display updates in place, so the saved notebook only shows the final state; the
record (display id, the text/plain of each update and its size in bytes) goes into the notebook metadata under
"blockdraft_test" so the Java test can assert that live updates really were sent.

With WORKING_DIR the kernel starts there (Jupyter's default is the notebook's folder), and
TIMEOUT sets the per-cell limit in seconds (default 180).

usage: run_notebook.py INPUT.ipynb OUTPUT.ipynb KERNEL_NAME [WORKING_DIR [TIMEOUT]]
"""
import json
import sys

import nbformat
from nbclient import NotebookClient


def main(source, target, kernel_name, working_dir=None, timeout="180"):
    notebook = nbformat.read(source, as_version=4)
    resources = {"metadata": {"path": working_dir}} if working_dir else {}
    client = NotebookClient(notebook, kernel_name=kernel_name, timeout=int(timeout), startup_timeout=300,
                            allow_errors=False, resources=resources)
    updates = []
    apply_update = client._update_display_id

    def recording_update(display_id, msg):
        if msg["msg_type"] == "update_display_data":
            updates.append({"display_id": display_id,
                            "text": msg["content"].get("data", {}).get("text/plain", ""),
                            "bytes": len(json.dumps(msg["content"]).encode("utf-8"))})
        return apply_update(display_id, msg)

    client._update_display_id = recording_update
    try:
        client.execute()
    finally:
        notebook.metadata["blockdraft_test"] = {"updates": updates}
        nbformat.write(notebook, target)


if __name__ == "__main__":
    main(*sys.argv[1:6])
