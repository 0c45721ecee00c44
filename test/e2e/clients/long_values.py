"""psycopg2 through `postern connect` with big inlined parameters (issue 10): psycopg2 sends a
bytea parameter inside the SQL text as a hex literal. Prints one JSON object: what happened.
Usage: long_values.py PORT ACTION ID SIZE (ACTION: insert, insert-delete, read, masked)."""
import hashlib
import json
import random
import sys

import psycopg2

port, action, ident, size = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
data = random.Random(ident).randbytes(size)
conn = psycopg2.connect(host="127.0.0.1", port=port, user="x", dbname="y", password="ignored")
conn.autocommit = True
cur = conn.cursor()
out = {"sha256": hashlib.sha256(data).hexdigest()}
try:
    if action == "insert":
        cur.execute("INSERT INTO blobs (id, b) VALUES (%s, %s)", (ident, psycopg2.Binary(data)))
    elif action == "insert-delete":
        # One Query: the forbidden DELETE comes after megabytes of literal.
        cur.execute("INSERT INTO blobs (id, b) VALUES (%s, %s); DELETE FROM blobs", (ident, psycopg2.Binary(data)))
    elif action == "read":
        cur.execute("SELECT b FROM blobs WHERE id = %s", (ident,))
        out["read_sha256"] = hashlib.sha256(bytes(cur.fetchone()[0])).hexdigest()
    elif action == "masked":
        # A masked column read by a statement that is megabytes long.
        cur.execute(
            "SELECT email, length(%s::bytea) FROM customers ORDER BY id LIMIT 5", (psycopg2.Binary(data),)
        )
        out["rows"] = [[r[0], r[1]] for r in cur.fetchall()]
    out["query_bytes"] = len(cur.query)
    out["query_sha256"] = hashlib.sha256(cur.query).hexdigest()
except psycopg2.Error as e:
    out["error"] = str(e).strip()
    out["pgcode"] = e.pgcode
print(json.dumps(out))
