"""asyncpg through a `postern connect` listener: one JSON line per step (client-stack.ts).

asyncpg speaks only the extended protocol with binary transfer, prepares every statement on the
server, and introspects unknown types (enums, composites, arrays) with its own catalog queries on
first use. Run with Debian's /usr/bin/python3 (python3-asyncpg). Usage: asyncpg_compat.py <port>
"""
import asyncio
import datetime
import decimal
import json
import sys

import asyncpg

CUSTOMERS = 'SELECT id, full_name, email, phone, card_number, national_id, city FROM customers'


def report(name, ok, **kw):
    print(json.dumps({'step': name, 'ok': ok, **kw}, default=str))
    sys.stdout.flush()


async def main():
    conn = await asyncpg.connect(host='127.0.0.1', port=sys.argv[1], user='any', database='any',
                                 password='ignored', ssl=False, timeout=20)

    async def step(name, fn):
        try:
            report(name, True, out=await fn())
        except Exception as e:  # the test decides which errors are right
            report(name, False, error='%s: %s' % (type(e).__name__, e), pgcode=getattr(e, 'sqlstate', None))

    async def binary():
        r = await conn.fetchrow(
            'SELECT $1::int8 AS a, $2::numeric AS b, $3::timestamptz AS c, $4::bytea AS d, $5::float8[] AS e,'
            " 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid AS f",
            2 ** 40, decimal.Decimal('12.345'), datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc),
            b'\x00\x01\xff', [1.5, 2.5])
        return [r['a'], str(r['b']), r['c'].isoformat(), r['d'].hex(), r['e'], str(r['f'])]

    async def prepared():
        st = await conn.prepare(CUSTOMERS + ' WHERE id <= $1 ORDER BY id')
        return [[list(r) for r in await st.fetch(n)] for n in range(1, 11)]

    async def copy_records():
        return await conn.copy_records_to_table(
            'items', columns=['id', 'name', 'price'],
            records=[(i, 'record %d' % i, decimal.Decimal(i) / 4) for i in range(200, 260)])

    async def introspection():
        await conn.execute("INSERT INTO moods VALUES (1, 'happy', ARRAY['a', 'b'], ROW(1, 'one'))")
        await conn.execute('INSERT INTO moods VALUES ($1, $2, $3, $4)', 2, 'sad', ['c'], (2, 'two'))
        rows = await conn.fetch('SELECT id, m, tags, p FROM moods ORDER BY id')
        return [[r['id'], r['m'], r['tags'], list(r['p'])] for r in rows]

    async def cursor():
        # A portal read in chunks (Execute with a row limit, PortalSuspended) inside a transaction.
        async with conn.transaction():
            return [list(r) async for r in conn.cursor(CUSTOMERS + ' ORDER BY id', prefetch=11)]

    async def executemany():
        await conn.executemany('INSERT INTO items (id, name, price) VALUES ($1, $2, $3)',
                               [(i, 'many %d' % i, i) for i in range(300, 400)])
        return await conn.fetchval('SELECT count(*) FROM items WHERE id >= 300 AND id < 400')

    async def timeout():
        # asyncpg cancels a statement that outlives its timeout (a CancelRequest), then goes on.
        try:
            await conn.execute('SELECT pg_sleep(30)', timeout=1.0)
            return 'no timeout'
        except asyncio.TimeoutError:
            return await conn.fetchval("SELECT 'usable after the cancel'")

    for name, fn in [('binary', binary), ('prepared', prepared), ('copy-records', copy_records),
                     ('introspection', introspection), ('cursor', cursor), ('executemany', executemany),
                     ('timeout', timeout)]:
        await step(name, fn)
    await conn.close()


asyncio.run(main())
