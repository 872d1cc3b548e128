# shellcheck shell=bash
# Helpers for scripts/test: installing missing system packages on a fresh
# Debian machine and running a throwaway PostgreSQL. Source this file; it
# defines functions only.

# pipe_log prints a progress line to stderr.
pipe_log() { printf '==> %s\n' "$*" >&2; }

_pipe_apt_updated=0

# pipe_apt_install PKG... installs Debian packages when we are root and
# apt-get exists (apt-get update runs once per script). Returns 1 otherwise.
pipe_apt_install() {
	if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
		pipe_log "cannot install $* (need root and apt-get); install them yourself"
		return 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	if [[ $_pipe_apt_updated -eq 0 ]]; then
		pipe_log "apt-get update"
		apt-get update -qq </dev/null >&2
		_pipe_apt_updated=1
	fi
	pipe_log "apt-get install $*"
	apt-get install -y -qq --no-install-recommends "$@" </dev/null >&2
}

# pipe_pg_bin prints the newest PostgreSQL server binary directory
# (PIPE_TEST_PG_BIN, /usr/lib/postgresql/*/bin, or initdb on PATH).
pipe_pg_bin() {
	if [[ -n ${PIPE_TEST_PG_BIN:-} ]]; then
		printf '%s\n' "$PIPE_TEST_PG_BIN"
		return 0
	fi
	local d
	for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k4,4 -rn); do
		if [[ -x $d/initdb && -x $d/postgres ]]; then
			printf '%s\n' "$d"
			return 0
		fi
	done
	if command -v initdb >/dev/null 2>&1; then
		dirname "$(command -v initdb)"
		return 0
	fi
	return 1
}

# pipe_need_postgres makes sure PostgreSQL server binaries exist, installing
# the postgresql package when possible.
pipe_need_postgres() {
	pipe_pg_bin >/dev/null && return 0
	pipe_apt_install postgresql || true
	if ! pipe_pg_bin >/dev/null; then
		echo "error: no PostgreSQL server binaries (initdb, postgres) found; install them (apt-get install -y postgresql) or set PIPE_TEST_DATABASE_URL" >&2
		return 1
	fi
}

# pipe_need_chromium makes sure a headless Chromium and its driver exist,
# for browser tests (chromedp).
pipe_need_chromium() {
	local b
	for b in chromium chromium-browser google-chrome google-chrome-stable headless-shell; do
		command -v "$b" >/dev/null 2>&1 && return 0
	done
	pipe_apt_install chromium chromium-driver || {
		echo "error: browser tests need Chromium; install it (apt-get install -y chromium chromium-driver)" >&2
		return 1
	}
}

# pipe_server_user prints the user to run PostgreSQL as: the current user,
# or under root (initdb refuses root) "pipetest", created when absent, else
# "nobody".
pipe_server_user() {
	if [[ $(id -u) -ne 0 ]]; then
		id -un
		return 0
	fi
	if ! id pipetest >/dev/null 2>&1; then
		useradd --system --no-create-home --shell /usr/sbin/nologin pipetest >/dev/null 2>&1 || true
	fi
	if id pipetest >/dev/null 2>&1; then
		echo pipetest
	else
		echo nobody
	fi
}

# _pipe_as USER CMD... runs CMD as USER (directly when USER is us).
_pipe_as() {
	local u=$1
	shift
	if [[ $u == "$(id -un)" ]]; then
		"$@"
	else
		runuser -u "$u" -- "$@"
	fi
}

# pipe_pg_start starts a throwaway PostgreSQL cluster on a free port of
# 127.0.0.1 in a new temporary directory and exports
# PIPE_TEST_DATABASE_URL. Call pipe_pg_stop to stop it (set a trap).
pipe_pg_start() {
	local bin user port try
	bin=$(pipe_pg_bin)
	user=$(pipe_server_user)
	PIPE_PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/pipe-test-pg.XXXXXX")
	chmod 0700 "$PIPE_PG_DIR"
	if [[ $user != "$(id -un)" ]]; then
		chown "$user:" "$PIPE_PG_DIR" 2>/dev/null || chown "$user" "$PIPE_PG_DIR"
	fi
	PIPE_PG_USER=$user
	PIPE_PG_BIN_DIR=$bin
	pipe_log "initdb ($bin, as $user) in $PIPE_PG_DIR"
	if ! (cd "$PIPE_PG_DIR" && LC_ALL=C LANG=C _pipe_as "$user" "$bin/initdb" -D "$PIPE_PG_DIR/data" \
		-U postgres --auth=trust --encoding=UTF8 --locale=C --no-sync >"$PIPE_PG_DIR/initdb.log" 2>&1); then
		cat "$PIPE_PG_DIR/initdb.log" >&2
		return 1
	fi
	for try in 1 2 3 4 5; do
		port=$((20000 + RANDOM % 40000))
		# Skip ports something already listens on.
		if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			continue
		fi
		if (cd "$PIPE_PG_DIR" && LC_ALL=C LANG=C _pipe_as "$user" "$bin/pg_ctl" -D "$PIPE_PG_DIR/data" \
			-l "$PIPE_PG_DIR/postgres.log" -w -t 60 start \
			-o "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$PIPE_PG_DIR -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
			>/dev/null 2>&1); then
			export PIPE_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
			pipe_log "test PostgreSQL on 127.0.0.1:$port"
			return 0
		fi
		pipe_log "PostgreSQL did not start on port $port (attempt $try)"
	done
	cat "$PIPE_PG_DIR/postgres.log" >&2 || true
	return 1
}

# pipe_pg_stop stops the cluster started by pipe_pg_start and removes its
# directory. Safe to call when none was started.
pipe_pg_stop() {
	[[ -n ${PIPE_PG_DIR:-} ]] || return 0
	if [[ -f $PIPE_PG_DIR/data/postmaster.pid ]]; then
		(cd "$PIPE_PG_DIR" && _pipe_as "$PIPE_PG_USER" "$PIPE_PG_BIN_DIR/pg_ctl" -D "$PIPE_PG_DIR/data" -m fast -w stop >/dev/null 2>&1) ||
			(cd "$PIPE_PG_DIR" && _pipe_as "$PIPE_PG_USER" "$PIPE_PG_BIN_DIR/pg_ctl" -D "$PIPE_PG_DIR/data" -m immediate -w stop >/dev/null 2>&1) || true
	fi
	rm -rf "$PIPE_PG_DIR"
	PIPE_PG_DIR=
}
