#!/usr/bin/env bats
# The sandbox. The probe server checks, from inside, every point of
# SANDBOX.md's "What must be proven" list; each check must say exactly
# "ok NAME", as root (the sandbox runs as uid 65534) and as an
# unprivileged user (its uid mapped 1:1). Then what a probe cannot see
# from inside: corral killed with SIGKILL leaves nothing behind, a planted
# symlink is not followed, real Node and Python servers run, profile
# "none" is announced, a failing step names itself, `corral run` and
# `corral doctor`.

load helpers
load sandbox-helpers

setup_file() {
	sbx_setup_file
}

setup() {
	sbx_setup
}

teardown() {
	sbx_cleanup
}

# The probe's report when every check passes, in its order.
expected_probe() {
	local net_lines landlock="landlock"
	if [ "$(uname -m)" != x86_64 ]; then
		echo "expected_probe knows x86-64 only" >&2
		return 1
	fi
	if ! sbx_doctor | grep -q '^ok    landlock: ABI'; then
		[ "${CI:-}" != true ] || { echo "CI: no Landlock" >&2; return 1; }
		landlock="landlock (kernel has none)"
	fi
	cat <<EOF
ok no leaked descriptors
ok no other process
ok deny unshare
ok deny setns
ok deny clone newns
ok deny clone newuts
ok deny clone newipc
ok deny clone newuser
ok deny clone newpid
ok deny clone newnet
ok deny clone newcgroup
ok deny clone newns high bits
ok deny mount
ok deny umount2
ok deny pivot_root
ok deny chroot
ok deny open_tree
ok deny move_mount
ok deny fsopen
ok deny fsconfig
ok deny fsmount
ok deny fspick
ok deny mount_setattr
ok deny keyctl
ok deny add_key
ok deny request_key
ok deny bpf
ok deny userfaultfd
ok deny perf_event_open
ok deny ptrace
ok deny process_vm_readv
ok deny process_vm_writev
ok deny kcmp
ok deny pidfd_getfd
ok deny init_module
ok deny finit_module
ok deny delete_module
ok deny kexec_load
ok deny kexec_file_load
ok deny reboot
ok deny swapon
ok deny swapoff
ok deny syslog
ok deny acct
ok deny settimeofday
ok deny clock_settime
ok deny clock_adjtime
ok deny adjtimex
ok deny quotactl
ok deny quotactl_fd
ok deny open_by_handle_at
ok deny name_to_handle_at
ok deny fanotify_init
ok deny mbind
ok deny set_mempolicy
ok deny migrate_pages
ok deny move_pages
ok deny set_mempolicy_home_node
ok deny modify_ldt
ok deny iopl
ok deny ioperm
ok enosys clone3
ok enosys io_uring_setup
ok enosys io_uring_enter
ok enosys io_uring_register
ok personality query
ok deny personality ADDR_NO_RANDOMIZE
ok deny personality READ_IMPLIES_EXEC
ok deny socket AF_VSOCK
ok deny socket AF_PACKET
ok deny socket AF_VSOCK high bits
ok socket AF_UNIX allowed
ok deny ioctl TIOCSTI
ok deny ioctl TIOCSTI|1<<32
ok deny ioctl TIOCLINUX
ok kill int 0x80
ok kill x32
ok CapInh zero
ok CapPrm zero
ok CapEff zero
ok CapBnd zero
ok CapAmb zero
ok NoNewPrivs 1
ok Seccomp 2
ok $landlock
ok read-only /
ok read-only /usr
ok read-only /etc
ok writable HOME
ok writable /tmp
ok writable /dev/shm
ok invisible ~/.ssh
ok invisible /root
ok invisible /run/user
ok invisible /sys
ok invisible /var/run/docker.sock
ok invisible /tmp/.X11-unix
ok secret unreadable
ok read-only /proc/sysrq-trigger
ok read-only /proc/sys
ok /dev minimal
ok /dev/null writable
ok /dev/urandom readable
ok nosuid everywhere
ok own session
ok no controlling terminal
ok only lo
ok host 127.0.0.1 unreachable (lo up)
ok host abstract socket unreachable
ok not root
ok uid
ok hostname
ok rlimit nofile
ok rlimit nproc
ok rlimit core
ok rlimit data
ok rlimit fsize
ok rlimit memlock
ok rlimit as unlimited
ok oom_score_adj raised
ok environment allow-list
ok TERM dumb
ok TMPDIR /tmp
ok fork bomb stops at nproc
EOF
}

# A root-owned 0600 file in a directory granted read-only: SECRET.
make_secret() {
	mkdir -p "$SBX/secret"
	echo "root only" >"$SBX/secret/file"
	chown root: "$SBX/secret/file" 2>/dev/null || true
	chmod 0600 "$SBX/secret/file"
	chmod 0755 "$SBX/secret"
	SECRET="$SBX/secret/file"
}

# Run the whole probe in mode $1 and compare every line.
probe_everything() {
	local mode="$1" want
	sbx_dirs "$mode"
	make_secret
	start_listener "corral-probe-$$-$mode"
	sbx_config "$SBX/c.json" <<EOF
{"corral":{"policy":{"default":"allow"}},
 "mcpServers":{"p":{"command":"$PROBE",
  "sandbox":{"ro":["$SBX/secret"]$(sbx_limits)}}}}
EOF
	want="$(expected_probe)"
	# Only root can make a file its test user may not read.
	if [ "$(id -u)" != 0 ]; then
		want="$(grep -vx 'ok secret unreadable' <<<"$want")"
		SECRET=
	fi
	run -0 --separate-stderr as_mode "$CORRAL" call -c "$SBX/c.json" \
	    p__probe home="$MODE_HOME" port="$PORT" \
	    abstract="corral-probe-$$-$mode" ${SECRET:+secret="$SECRET"} \
	    hostname=corral-p uid="$(sbx_uid "$mode")" data="$(sbx_data)"
	if [ "$output" != "$want" ]; then
		diff <(echo "$want") <(echo "$output") >&2 || true
		echo "stderr: $stderr" >&2
		return 1
	fi
	refute_output --partial FAIL
}

@test "probe: every check passes as root (the sandbox runs as uid 65534)" {
	[ "$(id -u)" = 0 ] || skip "not root"
	probe_everything root
}

@test "probe: every check passes as an unprivileged user (uid mapped 1:1)" {
	if [ "$(id -u)" = 0 ]; then
		probe_everything user
	else
		probe_everything self
	fi
}

@test "probe: without seccomp the denials are gone (the probe is not vacuous)" {
	sbx_dirs "$(sbx_modes | cut -d' ' -f1)"
	sbx_config "$SBX/c.json" <<EOF
{"corral":{"policy":{"default":"allow"}},
 "mcpServers":{"p":{"command":"$PROBE","sandbox":{"seccomp":"off"$(sbx_limits)}}}}
EOF
	run -0 --separate-stderr as_mode "$CORRAL" call -c "$SBX/c.json" \
	    p__probe data="$(sbx_data)"
	assert_line "FAIL Seccomp 2: 0"
	assert_line "FAIL kill int 0x80: survived (status 0)"
	assert_line --regexp '^FAIL deny unshare: returned 0'
	assert_line --regexp '^FAIL deny ioctl TIOCSTI: errno 25 '
	assert_line --regexp '^FAIL enosys clone3: errno'
	# What the namespaces, not the filter, provide still holds.
	assert_line "ok read-only /"
	assert_line "ok invisible /sys"
	assert_line "ok no other process"
}

@test "a fork bomb stops at the limit; corral and the other child keep working" {
	sbx_dirs "$(sbx_modes | cut -d' ' -f1)"
	sbx_config "$SBX/c.json" <<EOF
{"corral":{"policy":{"default":"allow"}},
 "mcpServers":{"p":{"command":"$PROBE","sandbox":{"profile":"strict"$(sbx_limits '"nproc":64')}},
  "e":{"command":"$SRV/echo"$(sbx_asan_sandbox)}}}
EOF
	sbx_start "$SBX/c.json"
	sbx_initialize
	run -0 sbx_call 1 p__forkbomb '{"nproc":64}'
	assert_output --regexp '^ok stopped at [0-9]+$'
	run -0 sbx_call 2 e__echo '{"text":"still here"}'
	assert_output "still here"
	run -0 sbx_call 3 p__forkbomb '{"nproc":64}'
	assert_output --regexp '^ok stopped at [0-9]+$'
	kill -0 "$CPID"
}

# The pids of $1's descendants, one per line.
descendants() {
	local c
	for c in $(pgrep -P "$1"); do
		echo "$c"
		descendants "$c"
	done
}

# cgroup v2 limits apply where corral's cgroup is delegated. Root only can
# have that here; anywhere else (and where the controllers are bound to
# cgroup v1) the test checks the one message saying they are off.
@test "cgroup v2: the sandbox gets memory.max and pids.max in a cgroup of its own, removed after corral exits" {
	local mnt pid p rel dir=
	sbx_dirs "$(sbx_modes | cut -d' ' -f1)"
	sbx_config "$SBX/c.json" <<EOF
{"corral":{"policy":{"default":"allow"}},
 "mcpServers":{"e":{"command":"$SRV/echo","sandbox":{$(sbx_limits '"pids":64,"memory":100000000' | cut -c2-)}}}}
EOF
	sbx_start "$SBX/c.json"
	sbx_initialize
	run -0 sbx_call 1 e__echo '{"text":"in a cgroup"}'
	assert_output "in a cgroup"
	for p in $(descendants "$CPID"); do
		if [ "$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)" = "$SRV/echo " ]; then
			pid=$p
		fi
	done
	[ -n "$pid" ]
	grep -q 'limits (cgroup, where delegated): memory 100000000 bytes, pids 64, cpu unlimited' "$ERR"
	if grep -q 'corral: sandbox: cgroup limits unavailable: ' "$ERR"; then
		# Off: said once, and the server is not in a cgroup of ours.
		[ "$(grep -c 'cgroup limits unavailable' "$ERR")" = 1 ]
		! grep -q '^0::.*/corral-e-' "/proc/$pid/cgroup"
	else
		rel="$(sed -n 's/^0:://p' "/proc/$pid/cgroup")"
		[[ "$rel" == */corral-[0-9]*/corral-e-[0-9]* ]] || {
			echo "server cgroup: $rel" >&2
			return 1
		}
		mnt="$(awk '{ for (i = 7; i < NF; i++) if ($i == "-") break
		    if ($(i + 1) == "cgroup2") { print $5; exit } }' \
		    /proc/self/mountinfo)"
		dir="$mnt$rel"
		[ "$(cat "$dir/pids.max")" = 64 ]
		[ "$(cat "$dir/memory.max")" = 100000000 ]
		[ "$(cat "$dir/memory.oom.group")" = 1 ]
	fi
	sbx_close
	wait "$CPID"
	CPID=
	if [ -n "$dir" ]; then
		[ ! -e "$dir" ]
		[ ! -e "$(dirname "$dir")" ]
	fi
}

@test "cgroup v2: a bad memory, pids or cpu limit is a config error" {
	local k
	sbx_dirs "$(sbx_modes | cut -d' ' -f1)"
	for k in '"cpu":0|cpu: must be a number of CPUs above 0 and at most 1024' \
	    '"cpu":1025|cpu: must be a number of CPUs above 0 and at most 1024' \
	    '"cpu":"1"|cpu: expected a number, got a string' \
	    '"pids":0|pids: must be an integer from 1 to 1000000000000000' \
	    '"memory":1.5|memory: must be an integer from 1 to 1000000000000000'; do
		sbx_config "$SBX/c.json" <<EOF
{"mcpServers":{"e":{"command":"$SRV/echo","sandbox":{"limits":{${k%%|*}}}}}}
EOF
		run -1 --separate-stderr as_mode "$CORRAL" tools -c "$SBX/c.json"
		[ "$stderr" = "corral: $SBX/c.json: mcpServers.e.sandbox.limits.${k#*|}" ] || {
			echo "got: $stderr" >&2
			return 1
		}
	done
}

# Kill corral with SIGKILL mid-session: the sandbox's pid 1 dies with it
# (PDEATHSIG) and the kernel ends its pid namespace, taking along a child
# that left the server's session.
kill9_leaves_nothing() {
	local marker="corral-orphan-$$-$1" i=0
	sbx_dirs "$1"
	sbx_config "$SBX/c.json" <<EOF
{"corral":{"policy":{"default":"allow"}},
 "mcpServers":{"p":{"command":"$PROBE"$(sbx_asan_sandbox)}}}
EOF
	sbx_start "$SBX/c.json"
	sbx_initialize
	run -0 sbx_call 1 p__spawn '{"marker":"'"$marker"'"}'
	assert_output --regexp '^spawned [0-9]+$'
	[ -n "$(pids_of "$marker")" ]
	[ -n "$(pids_of "$PROBE")" ]
	kill -9 "$CPID"
	wait "$CPID" 2>/dev/null || true
	while [ -n "$(pids_of "$marker")$(pids_of "$PROBE")" ]; do
		sleep 0.05
		i=$((i + 1))
		if [ "$i" -ge 200 ]; then
			ps -o pid,ppid,user,args -p "$(pids_of "$marker" | paste -sd,)" >&2
			echo "processes left behind" >&2
			return 1
		fi
	done
}

@test "kill -9 of corral leaves no process behind (root)" {
	[ "$(id -u)" = 0 ] || skip "not root"
	kill9_leaves_nothing root
}

@test "kill -9 of corral leaves no process behind (unprivileged user)" {
	kill9_leaves_nothing "$(sbx_modes | cut -d' ' -f2- | sed 's/^root$/self/')"
}

@test "a symlink planted as the private HOME is not followed on the next start" {
	local home target
	sbx_dirs "$(sbx_modes | cut -d' ' -f1)"
	sbx_config "$SBX/c.json" <<EOF
{"corral":{"policy":{"default":"allow"}},
 "mcpServers":{"p":{"command":"$PROBE"$(sbx_asan_sandbox)},
  "e":{"command":"$SRV/echo"$(sbx_asan_sandbox)}}}
EOF
	run -0 --separate-stderr as_mode "$CORRAL" call -c "$SBX/c.json" \
	    p__write path=/home/corral/first
	assert_output written
	home="$MODE_STATE/corral/servers/p/home"
	[ -f "$home/first" ]
	# A symlink inside HOME resolves inside the sandbox, never on the
	# host: the real ~/.ssh stays out of reach.
	ln -s "$MODE_HOME/.ssh" "$home/ssh-link"
	run -0 --separate-stderr as_mode "$CORRAL" call -c "$SBX/c.json" \
	    p__read path=/home/corral/ssh-link/id_test
	assert_output "error No such file or directory"
	# The HOME itself replaced by a symlink: corral refuses that child,
	# and neither chowns nor binds the target.
	target="$SBX/target"
	mkdir -m 0755 "$target"
	rm -rf "$home"
	ln -s "$target" "$home"
	run -1 --separate-stderr as_mode "$CORRAL" call -c "$SBX/c.json" \
	    p__read path=/home/corral/first
	[[ "$stderr" == *"[p] cannot start: sandbox: p: home $home: Not a directory; something other than a directory (a symlink?) stands on the private HOME's path; corral never follows a symlink there: remove it"* ]] || {
		echo "$stderr" >&2
		return 1
	}
	[ "$(stat -c '%u %a' "$target")" = "$(id -u) 755" ]
	[ -L "$home" ]
	# The other server is not affected.
	run -0 --separate-stderr as_mode "$CORRAL" call -c "$SBX/c.json" \
	    e__echo text=fine
	assert_output fine
}

@test "a Python server (python3 from /usr) runs inside, its HOME private" {
	local mode
	for mode in $(sbx_modes); do
		sbx_dirs "$mode"
		sbx_config "$SBX/c.json" <<EOF
{"corral":{"policy":{"default":"allow"}},
 "mcpServers":{"py":{"command":"/usr/bin/python3","args":["$PYMCP"],
  "sandbox":{"ro":["$ROOT/tests/servers"]}}}}
EOF
		run -0 --separate-stderr as_mode "$CORRAL" call -c "$SBX/c.json" py__whoami
		assert_output --regexp "^uid=$(sbx_uid "$mode") home=/home/corral cwd=/home/corral host=corral-py python=3"
		run -0 --separate-stderr as_mode "$CORRAL" call -c "$SBX/c.json" \
		    py__write_home name=note.txt
		assert_output "written by python"
		[ -f "$MODE_STATE/corral/servers/py/home/note.txt" ]
		[ ! -e "$MODE_HOME/note.txt" ]
		sbx_cleanup
	done
}

@test "a Node server (server-everything with /usr/bin/node) runs inside" {
	local mode
	[ -f "$EVERYTHING" ] || skip_unless_ci "tests/interop/node_modules is not installed (npm ci in tests/interop)"
	[ -x /usr/bin/node ] || skip_unless_ci "no /usr/bin/node"
	for mode in $(sbx_modes); do
		sbx_dirs "$mode"
		sbx_config "$SBX/c.json" <<EOF
{"corral":{"policy":{"default":"allow"}},
 "mcpServers":{"ev":{"command":"/usr/bin/node","args":["$EVERYTHING","stdio"],
  "sandbox":{"ro":["$NODE_MODULES"]}}}}
EOF
		run -0 --separate-stderr as_mode "$CORRAL" call -c "$SBX/c.json" \
		    ev__echo message=hello
		assert_output "Echo: hello"
		run -0 --separate-stderr as_mode "$CORRAL" call -c "$SBX/c.json" \
		    ev__get-sum a=2 b=3
		assert_output --partial "5"
		sbx_cleanup
	done
}

@test "npx runs a server from the registry inside (network full); its cache lands in the private HOME" {
	sbx_dirs "$(sbx_modes | cut -d' ' -f1)"
	sbx_npx_config '"network":"full"'
	run -0 --separate-stderr as_mode "$CORRAL" call -c "$SBX/c.json" \
	    npx__echo message=from-npx
	assert_output "Echo: from-npx"
	[ -d "$MODE_STATE/corral/servers/npx/home/.npm/_npx" ]
	[ ! -e "$MODE_HOME/.npm" ]
}

@test "profile none runs unsandboxed, with a loud warning on stderr" {
	sbx_dirs "$(sbx_modes | cut -d' ' -f1)"
	sbx_config "$SBX/c.json" <<EOF
{"corral":{"policy":{"default":"allow"}},
 "mcpServers":{"p":{"command":"$PROBE","sandbox":{"profile":"none"}}}}
EOF
	run -0 --separate-stderr as_mode "$CORRAL" call -c "$SBX/c.json" \
	    p__stat path=/sys
	assert_output --regexp '^dir '
	[[ "$stderr" == *'corral: [p] WARNING: NOT SANDBOXED ("profile": "none"): this server runs with all of your rights'* ]]
}

@test "a failing step names itself (sandbox: ALIAS: step: reason); only that child fails" {
	sbx_dirs "$(sbx_modes | cut -d' ' -f1)"
	sbx_config "$SBX/c.json" <<EOF
{"corral":{"policy":{"default":"allow"}},
 "mcpServers":{"bad":{"command":"$PROBE","sandbox":{"ro":["$SBX/no-such-dir"]}},
  "cwd":{"command":"$PROBE","cwd":"$SBX"},
  "e":{"command":"$SRV/echo"$(sbx_asan_sandbox)}}}
EOF
	run -0 --separate-stderr as_mode "$CORRAL" call -c "$SBX/c.json" \
	    e__echo text=alive
	assert_output alive
	[[ "$stderr" == *"corral: [bad] cannot start: sandbox: bad: grant $SBX/no-such-dir: No such file or directory"* ]] || {
		echo "$stderr" >&2
		return 1
	}
	[[ "$stderr" == *"corral: [cwd] cannot start: sandbox: cwd: chdir $SBX: No such file or directory; the working directory is not visible in the sandbox; grant it with \"ro\" or \"rw\""* ]] || {
		echo "$stderr" >&2
		return 1
	}
}

# corral run, end to end: a writable grant is writable, its startup files
# stay read-only, and nothing else is writable.
run_with_grants() {
	local w
	sbx_dirs "$1"
	w="$SBX/work"
	mkdir -p "$w/.git/hooks" "$w/.vscode"
	echo "[core]" >"$w/.git/config"
	echo "# rc" >"$w/.bashrc"
	echo "{}" >"$w/.mcp.json"
	# As root the server is uid 65534: it writes where that uid may.
	if [ "$1" = user ]; then
		chown -R "$SBX_USER:" "$w"
	elif [ "$1" = root ]; then
		chown -R 65534:65534 "$w"
	fi
	sbx_start run --rw "$w" --env PROBE_X=42 -- "$RUN_PROBE"
	sbx_initialize
	run -0 sbx_call 1 write '{"path":"'"$w"'/out.txt"}'
	assert_output written
	[ "$(cat "$w/out.txt")" = probe ]
	run -0 sbx_call 2 write '{"path":"'"$w"'/.bashrc"}'
	assert_output "error Read-only file system"
	run -0 sbx_call 3 write '{"path":"'"$w"'/.git/hooks/pre-commit"}'
	assert_output "error Read-only file system"
	run -0 sbx_call 4 write '{"path":"'"$w"'/.git/config"}'
	assert_output "error Read-only file system"
	run -0 sbx_call 5 write '{"path":"'"$w"'/.mcp.json"}'
	assert_output "error Read-only file system"
	run -0 sbx_call 6 write '{"path":"'"$w"'/.vscode/tasks.json"}'
	assert_output "error Read-only file system"
	[ "$(cat "$w/.bashrc")" = "# rc" ]
	run -0 sbx_call 7 write '{"path":"'"$MODE_HOME"'/outside.txt"}'
	assert_output "error No such file or directory"
	# The build tree's prefix is bound read-only; when the checkout lives
	# under /tmp the write may land in the sandbox's own /tmp instead.
	# Either way nothing reaches the host (checked below).
	run -0 sbx_call 8 write '{"path":"'"$ROOT"'/outside.txt"}'
	case "$ROOT" in
	/tmp/*) assert_output --regexp '^(error Read-only file system|written)$' ;;
	*) assert_output "error Read-only file system" ;;
	esac
	[ ! -e "$MODE_HOME/outside.txt" ]
	[ ! -e "$ROOT/outside.txt" ]
	run -0 sbx_call 9 env '{"name":"PROBE_X"}'
	assert_output 42
	sbx_close
	wait "$CPID"
}

@test "corral run --rw: the grant is writable, its startup files and the rest are not (root)" {
	[ "$(id -u)" = 0 ] || skip "not root"
	run_probe
	run_with_grants root
}

@test "corral run --rw: the grant is writable, its startup files and the rest are not (user)" {
	run_probe
	run_with_grants "$(sbx_modes | cut -d' ' -f2- | sed 's/^root$/self/')"
}

@test "corral run: usage errors exit 2" {
	run -2 --separate-stderr "$CORRAL" run
	assert_equal "$stderr" "usage: corral run [--net none|full|host[:port]]... [--ro path]... [--rw path]... [--env name[=value]]... [--home private|ephemeral] [--name alias] -- command [arg ...]"
	run -2 --separate-stderr "$CORRAL" run --net "so me" -- /bin/true
	run -2 --separate-stderr "$CORRAL" run --home shared -- /bin/true
	run -2 --separate-stderr "$CORRAL" run --rw / -- /bin/true
	assert_equal "$stderr" "corral: --rw /: granting / would undo the sandbox; grant the folders the server needs"
	run -2 --separate-stderr "$CORRAL" run --ro /nonexistent-corral -- /bin/true
	assert_equal "$stderr" "corral: --ro /nonexistent-corral: No such file or directory"
}

@test "corral doctor: exit 0 here, and it prints its checks" {
	local mode
	for mode in $(sbx_modes); do
		sbx_dirs "$mode"
		run -0 --separate-stderr as_mode "$CORRAL" doctor
		assert_line "sandbox backend: namespaces"
		assert_line --regexp '^ok    user namespace: can be created$'
		assert_line --regexp '^ok    seccomp: the filter loads and denies$'
		assert_line --regexp '^(ok    landlock: ABI [0-9]+|note  landlock: not available .*)$'
		assert_line --regexp '^ok    trial sandbox: '
		assert_line --regexp '^note  config: none at '
		refute_line --regexp '^FAIL'
		sbx_cleanup
	done
}

@test "corral doctor -c: each server can start or the fix is named, exit 1" {
	sbx_dirs "$(sbx_modes | cut -d' ' -f1)"
	sbx_config "$SBX/c.json" <<EOF
{"mcpServers":{"good":{"command":"$PROBE"},
 "bad":{"command":"$PROBE","sandbox":{"ro":["$SBX/missing"]}},
 "gone":{"command":"no-such-command-corral"},
 "open":{"command":"$PROBE","sandbox":{"profile":"none"}}}}
EOF
	run -1 --separate-stderr as_mode "$CORRAL" doctor -c "$SBX/c.json"
	assert_line "ok    server good: can start ($PROBE)"
	assert_line "FAIL  server bad: cannot start: sandbox: bad: grant $SBX/missing: No such file or directory"
	assert_line "FAIL  server gone: no-such-command-corral: command not found; fix the command or PATH"
	assert_line 'note  server open: can start, NOT SANDBOXED ("profile": "none")'
}

@test "home ephemeral: nothing is kept between starts" {
	sbx_dirs "$(sbx_modes | cut -d' ' -f1)"
	sbx_config "$SBX/c.json" <<EOF
{"corral":{"policy":{"default":"allow"}},
 "mcpServers":{"p":{"command":"$PROBE","sandbox":{"home":"ephemeral"$(sbx_limits)}}}}
EOF
	run -0 --separate-stderr as_mode "$CORRAL" call -c "$SBX/c.json" \
	    p__write path=/home/corral/kept
	assert_output written
	run -0 --separate-stderr as_mode "$CORRAL" call -c "$SBX/c.json" \
	    p__read path=/home/corral/kept
	assert_output "error No such file or directory"
	[ ! -e "$MODE_STATE/corral/servers/p" ]
}

@test "network full: the host's 127.0.0.1 is reachable, its abstract sockets are not (Landlock 6+)" {
	sbx_dirs "$(sbx_modes | cut -d' ' -f1)"
	start_listener "corral-net-$$"
	sbx_config "$SBX/c.json" <<EOF
{"corral":{"policy":{"default":"allow"}},
 "mcpServers":{"p":{"command":"$PROBE","sandbox":{"network":"full"$(sbx_limits)}}}}
EOF
	run -0 --separate-stderr as_mode "$CORRAL" call -c "$SBX/c.json" \
	    p__connect port="$PORT"
	assert_output connected
	run -0 --separate-stderr as_mode "$CORRAL" call -c "$SBX/c.json" \
	    p__connect abstract="corral-net-$$"
	if sbx_doctor | grep -qE '^ok    landlock: ABI ([6-9]|[1-9][0-9])$'; then
		assert_output "error Operation not permitted"
	else
		assert_output connected
	fi
}

# Run as the test user where user namespaces cannot be made.
no_userns_call() {
	without_userns "$(id -u "$SBX_USER")" "$(id -g "$SBX_USER")" \
	    env HOME="$MODE_HOME" XDG_STATE_HOME="$MODE_STATE" \
	    ASAN_OPTIONS="$ASAN_OPTIONS" UBSAN_OPTIONS="$UBSAN_OPTIONS" \
	    "$CORRAL" call -c "$SBX/c.json" "$@"
}

@test "without user namespaces: refused with the cause and the fix, degraded only where the config asks" {
	[ "$(id -u)" = 0 ] || skip "needs root to take user namespaces away"
	sbx_dirs user
	sbx_config "$SBX/c.json" <<EOF
{"corral":{"policy":{"default":"allow"}},
 "mcpServers":{"strict":{"command":"$PROBE"$(sbx_asan_sandbox)},
  "fb":{"command":"$PROBE","sandbox":{"fallback":"landlock"$(sbx_limits)}}}}
EOF
	run -1 --separate-stderr no_userns_call strict__stat path=/
	[[ "$stderr" == *"corral: [strict] cannot start: sandbox: strict: clone: No space left on device; user namespaces are disabled: sysctl -w user.max_user_namespaces=15000"* ]] || {
		echo "$stderr" >&2
		return 1
	}
	if ! sbx_doctor | grep -q '^ok    landlock: ABI'; then
		skip_unless_ci "no Landlock: the degraded tier cannot run"
	fi
	run -0 --separate-stderr no_userns_call fb__read \
	    path="$MODE_HOME/.ssh/id_test"
	assert_output "error Permission denied"
	[[ "$stderr" == *'corral: [fb] sandbox degraded ("fallback": "landlock"): no namespaces (sandbox: fb: clone: No space left on device;'*'running with Landlock, seccomp and resource limits only'* ]] || {
		echo "$stderr" >&2
		return 1
	}
	run -0 --separate-stderr no_userns_call fb__write path=/etc/corral-probe
	assert_output "error Permission denied"
	run -0 --separate-stderr no_userns_call fb__write \
	    path="$MODE_STATE/corral/servers/fb/home/kept"
	assert_output written
	[ -f "$MODE_STATE/corral/servers/fb/home/kept" ]
}

@test "a symlink planted in a writable grant aims neither another grant nor an interpreter" {
	local p
	sbx_dirs "$(sbx_modes | cut -d' ' -f1)"
	p="$SBX/proj"
	mkdir -p "$p"
	# What a server with "rw" on the project could leave for next time.
	ln -s "$MODE_HOME/.ssh" "$p/data"
	printf '#!%s/.ssh/id_test\n' "$MODE_HOME" >"$p/run.sh"
	chmod 0755 "$p/run.sh"
	sbx_config "$SBX/c.json" <<EOF
{"corral":{"policy":{"default":"allow"}},
 "mcpServers":{"a":{"command":"$PROBE","sandbox":{"rw":["$p"],"ro":["$p/data"]$(sbx_limits)}},
  "b":{"command":"$p/run.sh","sandbox":{"rw":["$p"]}},
  "e":{"command":"$SRV/echo"$(sbx_asan_sandbox)}}}
EOF
	run -0 --separate-stderr as_mode "$CORRAL" call -c "$SBX/c.json" \
	    e__echo text=ok
	[[ "$stderr" == *"corral: [a] cannot start: sandbox: a: grant $p/data: resolves through a symlink inside a writable grant, which the server could have planted; grant the real path"* ]] || {
		echo "$stderr" >&2
		return 1
	}
	[[ "$stderr" == *"corral: [b] cannot start: sandbox: b: execve $p/run.sh: No such file or directory"* ]] || {
		echo "$stderr" >&2
		return 1
	}
}
