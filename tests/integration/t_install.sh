#!/usr/bin/env bash
# t_install: make install into a DESTDIR puts the programs, the man pages
# and both systemd units (with the configured sbindir in ExecStart) where
# the configured folders say; the installed programs run; make uninstall
# takes every file away again.
. "$MRX_SRCDIR/tests/lib/tap.sh"
plan 14

dest=$t_root/dest
# the build tree's own make, not one this test may run under
mk() { env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C "$MRX_BUILDDIR" --no-print-directory "$@"; }
# dir NAME: a folder variable of the build's Makefile, fully expanded (the
# last line: make may first say it remade the Makefile)
dir() { mk -s --eval 'mrx-print-%: ; @echo $($*)' "mrx-print-$1" | tail -n 1; }

bindir=$(dir bindir) sbindir=$(dir sbindir) mandir=$(dir mandir)
sysunitdir=$(dir systemdsystemunitdir) userunitdir=$(dir systemduserunitdir)
[[ $bindir == /* && $sbindir == /* && $mandir == /* ]] ||
    { echo "Bail out! cannot read the folders from $MRX_BUILDDIR/Makefile"; exit 1; }

if mk install DESTDIR="$dest" >"$t_root/install.log" 2>&1; then
    ok "make install DESTDIR= succeeds"
else
    not_ok "make install DESTDIR= succeeds" "$(tail -n 20 "$t_root/install.log")"
fi

# installed FILE DESC: FILE is there under DESTDIR
installed() {
    local files
    [[ -f $dest$1 ]] && ok "$2" && return
    mapfile -t files < <(cd "$dest" && find . -type f | sort)
    not_ok "$2" "no $dest$1; installed:" "${files[@]}"
}
[[ -x $dest$bindir/mrx ]] && ok "mrx is in bindir" || not_ok "mrx is in bindir" "no $dest$bindir/mrx"
[[ -x $dest$sbindir/mrxd ]] && ok "mrxd is in sbindir" || not_ok "mrxd is in sbindir" "no $dest$sbindir/mrxd"
installed "$mandir/man1/mrx.1" "mrx.1 is in man1"
installed "$mandir/man8/mrxd.8" "mrxd.8 is in man8"
installed "$mandir/man5/mrxd.conf.5" "mrxd.conf.5 is in man5"

# unit DIR LABEL EXECSTART: the unit in DIR runs EXECSTART, as a notify
# service, with every @name@ filled in
unit() {
    local file=$dest$1/mrxd.service
    if [[ -z $1 ]]; then
        ok "the $2 unit # SKIP configured not to install it"
    elif [[ ! -f $file ]]; then
        not_ok "the $2 unit is installed as mrxd.service" "no $file"
    elif ! grep -qxF "ExecStart=$3" "$file" || ! grep -qx 'Type=notify' "$file"; then
        not_ok "the $2 unit starts $3" "$(grep -E '^(ExecStart|Type)=' "$file")"
    elif grep -q '@[a-z_]*@' "$file"; then
        not_ok "the $2 unit has every @name@ filled in" "$(grep '@[a-z_]*@' "$file")"
    else
        ok "the $2 unit is installed as mrxd.service and starts $3"
    fi
}
unit "$sysunitdir" system "$sbindir/mrxd --foreground --home /var/lib/mrx"
unit "$userunitdir" user "$sbindir/mrxd --foreground"
if [[ -n $sysunitdir && -f $dest$sysunitdir/mrxd.service ]]; then
    grep -qx 'User=mrx' "$dest$sysunitdir/mrxd.service" &&
        grep -qx 'StateDirectory=mrx' "$dest$sysunitdir/mrxd.service" &&
        grep -qx 'WantedBy=multi-user.target' "$dest$sysunitdir/mrxd.service" &&
        ok "the system unit runs as mrx in /var/lib/mrx, wanted by multi-user.target" ||
        not_ok "the system unit runs as mrx in /var/lib/mrx, wanted by multi-user.target" \
            "$(grep -E '^(User|StateDirectory|WantedBy)=' "$dest$sysunitdir/mrxd.service")"
else
    ok "the system unit's user and state folder # SKIP no system unit"
fi
if [[ -n $userunitdir && -f $dest$userunitdir/mrxd.service ]]; then
    grep -qx 'WantedBy=default.target' "$dest$userunitdir/mrxd.service" &&
        ! grep -q '^User=' "$dest$userunitdir/mrxd.service" &&
        ok "the user unit is wanted by default.target and names no user" ||
        not_ok "the user unit is wanted by default.target and names no user" \
            "$(grep -E '^(User|WantedBy)=' "$dest$userunitdir/mrxd.service")"
else
    ok "the user unit's target # SKIP no user unit"
fi

# the installed programs run (under valgrind too with tests/run --valgrind)
out=$(${MRX_WRAP:-} "$dest$sbindir/mrxd" --version 2>&1)
[[ $out =~ ^mrxd\ [0-9]+\.[0-9]+ ]] && ok "the installed mrxd --version runs" ||
    not_ok "the installed mrxd --version runs" "$out"
out=$(${MRX_WRAP:-} "$dest$bindir/mrx" --help 2>&1)
[[ $? == 0 && $out == *usage* ]] && ok "the installed mrx --help runs" ||
    not_ok "the installed mrx --help runs" "$out"

if mk uninstall DESTDIR="$dest" >"$t_root/uninstall.log" 2>&1; then
    ok "make uninstall DESTDIR= succeeds"
else
    not_ok "make uninstall DESTDIR= succeeds" "$(tail -n 20 "$t_root/uninstall.log")"
fi
mapfile -t left < <(cd "$dest" 2>/dev/null && find . ! -type d)
[[ -d $dest && ${#left[@]} == 0 ]] && ok "make uninstall leaves no file behind" ||
    not_ok "make uninstall leaves no file behind" "${left[@]}"

done_testing
