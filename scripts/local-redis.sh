#!/usr/bin/env bash
# Prints the URL of a Redis of this checkout's own, starting it when needed:
#   scripts/local-redis.sh NAME PORT       (NAME: run or test; PORT: the one to try first)
# Its data lives in .run/NAME/ (append-only). A Redis already answering on a port is
# used only when it is ours: its `dir` is that directory. Any other one (another
# checkout's, the machine's own) is left alone and the next free port is taken; the
# port in use is remembered in .run/NAME/port. So `make run` and `make test` never
# share data, with each other or with anyone else.
set -euo pipefail
name=$1
first=$2
root=$(cd "$(dirname "$0")/.." && pwd)
dir="$root/.run/$name"
mkdir -p "$dir"

ours() { # answers, and keeps its data in our directory
	[ "$(redis-cli -h 127.0.0.1 -p "$1" config get dir 2>/dev/null | sed -n 2p)" = "$dir" ]
}
answers() {
	redis-cli -h 127.0.0.1 -p "$1" ping >/dev/null 2>&1
}
listening() { # anything at all on 127.0.0.1:PORT
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

candidates="$(cat "$dir/port" 2>/dev/null || true) $(seq "$first" $((first + 40)))"
for port in $candidates; do
	if ours "$port"; then
		echo "$port" >"$dir/port"
		echo "redis://127.0.0.1:$port/0"
		exit 0
	fi
	if answers "$port" || listening "$port"; then
		echo "port $port is taken by another Redis or program: trying the next" >&2
		continue
	fi
	if redis-server --daemonize yes --bind 127.0.0.1 --port "$port" --dir "$dir" \
		--appendonly yes --save '' --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" \
		>/dev/null 2>&1; then
		for _ in $(seq 1 50); do
			if ours "$port"; then
				echo "$port" >"$dir/port"
				echo "started redis-server for '$name' on 127.0.0.1:$port (data in .run/$name)" >&2
				echo "redis://127.0.0.1:$port/0"
				exit 0
			fi
			sleep 0.1
		done
	fi
	echo "could not start redis-server on port $port: trying the next" >&2
done
echo "no free port for a Redis of our own from $first: set REDIS_URL" >&2
exit 1
