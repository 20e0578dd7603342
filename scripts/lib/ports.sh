# Sourced by pg.sh, redis.sh and bench.sh: a free TCP port on 127.0.0.1 for a
# private server. Ports come from 10000-32767, below the kernel's ephemeral range
# (net.ipv4.ip_local_port_range, 32768-60999 on Debian), so no outgoing
# connection can take the port between this check and the server's bind; the
# callers still retry with another port when a bind fails.
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

pick_port() {
  local low=10000 high=32767 port
  read -r ephemeral_low _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || true
  [[ -n "${ephemeral_low:-}" && $ephemeral_low -gt $low && $ephemeral_low -le $high ]] &&
    high=$((ephemeral_low - 1))
  for _ in $(seq 1 200); do
    port=$((low + RANDOM % (high - low + 1)))
    port_in_use "$port" || { echo "$port"; return 0; }
  done
  echo "ports.sh: no free port in $low-$high" >&2
  return 1
}
