// Money is integer micro-USD from the server; it is shown exactly, by
// moving the decimal point in the digits, never through a float.

export function usd(micros, decimals = 2) {
  const value = BigInt(Math.trunc(Number(micros)));
  const negative = value < 0n;
  const digits = (negative ? -value : value).toString().padStart(7, '0');
  const whole = digits.slice(0, -6).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  const fraction = digits.slice(-6, -6 + decimals || undefined);
  return `${negative ? '-' : ''}$${whole}${decimals > 0 ? '.' + fraction : ''}`;
}

// "2.50" (USD) to micro-USD, exactly: digits, not arithmetic on a float.
export function micros(text) {
  const match = /^\s*(\d{1,10})(?:\.(\d{0,6}))?\s*$/.exec(String(text));
  if (!match) return null;
  return Number(BigInt(match[1]) * 1000000n + BigInt((match[2] || '').padEnd(6, '0')));
}

export function time(unixSeconds) {
  if (!unixSeconds) return '–';
  return new Date(unixSeconds * 1000).toISOString().replace('T', ' ').slice(0, 19);
}

export function day(unixSeconds) {
  return new Date(unixSeconds * 1000).toISOString().slice(0, 10);
}

export function words(code) {
  return String(code).replaceAll('_', ' ');
}
