/**
 * The demo target's data: a `customers` table of realistic but fake PII, made by a seeded
 * generator so every `npm start` shows the same rows. Card numbers pass Luhn, SSNs use the
 * 9xx area range the SSA never issues, phone numbers the 555-01xx fictional range.
 */
const FIRST = [
  'Ada',
  'Grace',
  'Alan',
  'Edsger',
  'Barbara',
  'Donald',
  'Frances',
  'Ken',
  'Margaret',
  'Dennis',
  'Radia',
  'Leslie',
  'Shafi',
  'John',
  'Sophie',
  'Tim',
];
const LAST = [
  'Lovelace',
  'Hopper',
  'Turing',
  'Dijkstra',
  'Liskov',
  'Knuth',
  'Allen',
  'Thompson',
  'Hamilton',
  'Ritchie',
  'Perlman',
  'Lamport',
  'Goldwasser',
  'Backus',
  'Wilson',
  'Berners-Lee',
];
const CITIES = ['Lisbon', 'Oslo', 'Austin', 'Kyoto', 'Nairobi', 'Toronto', 'Dublin', 'Melbourne'];

export interface Customer {
  id: number;
  fullName: string;
  email: string;
  phone: string;
  cardNumber: string;
  ssn: string;
  city: string;
}

/** mulberry32: tiny deterministic PRNG, good enough for demo rows. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function luhnCheckDigit(partial: string): number {
  let sum = 0;
  for (let i = 0; i < partial.length; i++) {
    let d = Number(partial[partial.length - 1 - i]);
    if (i % 2 === 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return (10 - (sum % 10)) % 10;
}

export function demoCustomers(count = 200, seed = 42): Customer[] {
  const r = rng(seed);
  const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)]!;
  const digits = (n: number) => Array.from({ length: n }, () => Math.floor(r() * 10)).join('');
  const out: Customer[] = [];
  for (let id = 1; id <= count; id++) {
    const first = pick(FIRST);
    const last = pick(LAST);
    const prefix = pick(['4', '51', '37']);
    const body = prefix + digits((prefix === '37' ? 14 : 15) - prefix.length);
    out.push({
      id,
      fullName: `${first} ${last}`,
      email: `${first}.${last}${id}@example.com`.toLowerCase(),
      phone: `+1-202-555-01${String(id % 100).padStart(2, '0')}`,
      cardNumber: body + luhnCheckDigit(body),
      ssn: `9${digits(2)}-${digits(2)}-${digits(4)}`,
      city: pick(CITIES),
    });
  }
  return out;
}

const q = (s: string) => `'${s.replace(/'/g, "''")}'`;

/** SQL that (re)creates the demo table and rows; run in the demo database. */
export function demoSeedSql(customers: Customer[]): string {
  const rows = customers
    .map(
      (c) =>
        `(${c.id}, ${q(c.fullName)}, ${q(c.email)}, ${q(c.phone)}, ${q(c.cardNumber)}, ${q(c.ssn)}, ${q(c.city)})`,
    )
    .join(',\n');
  return `
DROP TABLE IF EXISTS customers;
CREATE TABLE customers (
  id integer PRIMARY KEY,
  full_name text NOT NULL,
  email text NOT NULL UNIQUE,
  phone text NOT NULL,
  card_number text NOT NULL,
  national_id text NOT NULL,
  city text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO customers (id, full_name, email, phone, card_number, national_id, city) VALUES
${rows};
`;
}
