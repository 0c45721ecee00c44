"""psycopg2 through a `postern connect` listener: one JSON line per step (client-stack.ts).

Run with Debian's /usr/bin/python3 (python3-psycopg2). Usage: psycopg2_compat.py <port>
"""
import io
import json
import sys
import threading

import psycopg2
import psycopg2.extensions

CUSTOMERS = 'SELECT id, full_name, email, phone, card_number, national_id, city FROM customers ORDER BY id'

conn = psycopg2.connect(host='127.0.0.1', port=sys.argv[1], user='any', dbname='any', password='ignored',
                        sslmode='disable', connect_timeout=20)


def step(name, fn):
    try:
        print(json.dumps({'step': name, 'ok': True, 'out': fn()}, default=str))
    except Exception as e:  # the test decides which errors are right
        print(json.dumps({'step': name, 'ok': False, 'error': '%s: %s' % (type(e).__name__, str(e).strip()),
                          'pgcode': getattr(e, 'pgcode', None)}))
        conn.rollback()
    sys.stdout.flush()


def executemany():
    with conn.cursor() as c:
        c.executemany('INSERT INTO items (id, name, price) VALUES (%s, %s, %s)',
                      [(i, 'many %d' % i, i * 1.5) for i in range(1, 101)])
        n = c.rowcount
    conn.commit()
    return n


def named_cursor():
    # A server-side cursor: DECLARE ... then FETCH FORWARD itersize until it is empty.
    with conn.cursor(name='compat_cursor') as c:
        c.itersize = 7
        c.execute(CUSTOMERS)
        rows = [list(r) for r in c]
    conn.commit()
    return rows


def copy_from():
    data = ''.join('%d,copied %d,%d.25\n' % (i, i, i) for i in range(101, 151))
    with conn.cursor() as c:
        c.copy_expert('COPY items (id, name, price) FROM STDIN WITH (FORMAT csv)', io.StringIO(data))
        n = c.rowcount
    conn.commit()
    return n


def copy_to():
    buf = io.StringIO()
    with conn.cursor() as c:
        c.copy_expert('COPY (%s) TO STDOUT' % CUSTOMERS, buf)
    conn.commit()
    return buf.getvalue()


def notice_do():
    del conn.notices[:]
    with conn.cursor() as c:
        c.execute("DO $$ BEGIN RAISE NOTICE 'hello from a DO block'; END $$")
    conn.commit()
    return list(conn.notices)


def warning():
    # A second BEGIN inside a transaction: the server answers with a WARNING.
    del conn.notices[:]
    with conn.cursor() as c:
        c.execute('SELECT 1')
        c.execute('BEGIN')
    conn.commit()
    return list(conn.notices)


def cancel():
    # conn.cancel() from another thread sends a CancelRequest on a new connection.
    t = threading.Timer(1.0, conn.cancel)
    t.start()
    try:
        with conn.cursor() as c:
            c.execute('SELECT pg_sleep(30)')
        return 'the statement was not canceled'
    finally:
        t.join()


def after_cancel():
    with conn.cursor() as c:
        c.execute('SELECT count(*) FROM items')
        n = c.fetchone()[0]
    conn.commit()
    return n


for name, fn in [('executemany', executemany), ('named-cursor', named_cursor), ('copy-from', copy_from),
                 ('copy-to', copy_to), ('notice-do', notice_do), ('warning', warning), ('cancel', cancel),
                 ('after-cancel', after_cancel)]:
    step(name, fn)
conn.close()
