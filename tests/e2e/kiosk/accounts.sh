# accounts.sh - local operator accounts for the kiosk's tests (sourced).
#
# ks_accounts_create WORKDIR makes, for this test only (names carry a
# random tag, so parallel tests and a real installation's cardstation-*
# groups are never touched):
#   groups  $KS_ROLES-encode, $KS_ROLES-desk, $KS_ROLES-admin
#   users   ${KS_ROLES}u-enc (encode), -desk (desk), -adm (admin),
#           -all (all three), -none (no role), each with a random password
#           set through chpasswd's stdin (never argv, never a file)
#   a PAM folder $KS_PAMDIR: the shipped kiosk/cardstation.pam as service
#           "cardstation" with Debian's common-auth and common-account
# and exports KS_ROLES, KS_PAMDIR, KS_USER_<role>, KS_PW_<role>,
# KS_NAME_<role> (the full name the page shows). ks_accounts_remove undoes
# it (story.sh and the bench call it on exit, after ks_kiosk_stop).
# Needs root (useradd); the tests skip with 77 otherwise.

ks_accounts_create() {
	local work=$1 role groups name pw
	[ "$(id -u)" -eq 0 ] || { echo "kiosk tests need root (test accounts)" >&2; return 77; }
	KS_ROLES="kst$(openssl rand -hex 4)"
	export KS_ROLES
	for role in encode desk admin; do
		groupadd "$KS_ROLES-$role"
	done
	# user  groups                                  full name (GECOS)
	while read -r role groups name; do
		[ "$groups" != - ] || groups=
		useradd --no-create-home --shell /usr/sbin/nologin --comment "$name" \
			${groups:+--groups "$groups"} "${KS_ROLES}u-$role"
		pw=$(openssl rand -base64 18)
		printf '%s:%s\n' "${KS_ROLES}u-$role" "$pw" | chpasswd
		export "KS_USER_$role=${KS_ROLES}u-$role" "KS_PW_$role=$pw" "KS_NAME_$role=$name"
	done <<-EOF
	enc $KS_ROLES-encode 山田太郎
	desk $KS_ROLES-desk 窓口花子
	adm $KS_ROLES-admin 管理一郎
	all $KS_ROLES-encode,$KS_ROLES-desk,$KS_ROLES-admin 全部担当
	none - 無役次郎
	EOF
	export KS_PAMDIR=$work/pam.d
	mkdir -p "$KS_PAMDIR"
	cp "$CS_SRC/kiosk/cardstation.pam" "$KS_PAMDIR/cardstation"
	ln -sf /etc/pam.d/common-auth /etc/pam.d/common-account "$KS_PAMDIR/"
}

ks_accounts_remove() {
	local role
	[ -n "${KS_ROLES:-}" ] || return 0
	for role in enc desk adm all none; do
		userdel "${KS_ROLES}u-$role" 2>/dev/null || true
	done
	for role in encode desk admin; do
		groupdel "$KS_ROLES-$role" 2>/dev/null || true
	done
}

# ks_kiosk_stop PID: SIGTERM, then SIGKILL if it has not ended in 10 s, so
# that a kiosk that hangs (the failure a test is there to catch) cannot
# keep the accounts above from being removed.
ks_kiosk_stop() {
	local pid=$1 i
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	for i in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}
