# tests/lib/html_check.sh: check an HTML page mrx wrote the way a person
# will see it, in headless Chromium (a browser nobody here wrote). Source
# it after tap.sh, then call html_check; it adds HTML_CHECKS checks (the
# two that need Chromium are skipped when it is not installed).
#
# Every Chromium started runs in a process group of its own, with its
# profile, HOME and TMPDIR in a folder of its own under $t_root (or /tmp
# when $t_root is too long a path for Chromium's socket); the group is
# killed and the folder removed after each run, and again at exit should
# the script be stopped in the middle.

HTML_CHECKS=3

_html_pgid=""
_html_tmp=""

# _html_stop: kill what is left of the Chromium started last, remove its
# folder
_html_stop() {
    local pid
    if [[ -n $_html_pgid ]]; then
        kill -KILL -- "-$_html_pgid" 2>/dev/null
        wait "$_html_pgid" 2>/dev/null
        _html_pgid=""
    fi
    if [[ -n $_html_tmp ]]; then
        # a helper that left the group (the crash handler does) still
        # names the folder made for this run on its command line
        for pid in $(pgrep -f -- "$_html_tmp/" 2>/dev/null); do
            kill -KILL "$pid" 2>/dev/null
        done
        rm -rf "$_html_tmp"
        _html_tmp=""
    fi
    return 0
}
trap '_html_stop; t_teardown' EXIT

# html_browser: the Chromium command, if there is one
html_browser() { command -v chromium || command -v chromium-browser; }

# _html_run OUT ARGS...: run headless Chromium with ARGS, its standard
# output to OUT; at most 120 s. Returns its exit status.
_html_run() {
    local out=$1 browser rc
    shift
    browser=$(html_browser) || return 127
    # Chromium makes a socket in its TMPDIR, whose path must stay short
    if ((${#t_root} <= 40)); then
        _html_tmp=$(mktemp -d "$t_root/chromium.XXXXXX") || return 1
    else
        _html_tmp=$(mktemp -d /tmp/mrx-chromium.XXXXXX) || return 1
    fi
    mkdir -p "$_html_tmp/profile" "$_html_tmp/home" "$_html_tmp/tmp"
    # (as root Chromium refuses to start without --no-sandbox)
    (cd "$_html_tmp" && HOME=$_html_tmp/home TMPDIR=$_html_tmp/tmp XDG_CONFIG_HOME=$_html_tmp/home \
        XDG_CACHE_HOME=$_html_tmp/home exec setsid timeout 120 "$browser" --headless --no-sandbox \
        --disable-gpu --disable-dev-shm-usage --no-first-run --no-default-browser-check \
        --disable-extensions --disable-sync --disable-background-networking \
        --disable-component-update --disable-crash-reporter --disable-breakpad \
        --user-data-dir="$_html_tmp/profile" "$@") >"$out" 2>"$t_root/chromium.log" </dev/null &
    _html_pgid=$!
    wait "$_html_pgid"
    rc=$?
    _html_stop
    return $rc
}

# html_count PATTERN FILE: how many times the extended regex occurs
html_count() { grep -oE -- "$1" "$2" | wc -l; }

# html_check PAGE LINES FLAGGED PNG [DOM]: PAGE (an audit page) refers
# to nothing outside itself; opened in Chromium, it holds LINES table rows
# and LINES timeline marks, one mark per row, FLAGGED of each flagged, and
# no script; its screenshot (1400x1000) is a real PNG, kept at PNG. The
# DOM Chromium made is kept at DOM if given.
html_check() {
    local page=$1 lines=$2 flagged=$3 png=$4 dom=${5:-} tmp rows marks bad_rows bad_marks why
    local abs magic size

    # 1. nothing to load: no URL, no linked style or script, no image
    why=$(grep -noiE 'https?://|<link|<script|<img|<iframe|<object|@import|url\(|[[:space:]](src|href)=' \
        "$page" | head -3)
    [[ -s $page && -z $why ]] && ok "the page refers to nothing outside itself" ||
        not_ok "the page has external references" "$why"
    if ! html_browser >/dev/null; then
        ok "the page in a browser: rows and marks # SKIP chromium is not installed"
        ok "the page in a browser: a screenshot # SKIP chromium is not installed"
        return 0
    fi
    abs=$(cd "$(dirname "$page")" && pwd)/$(basename "$page")

    # 2. what the browser made of it
    tmp=$(mktemp "$t_root/dom.XXXXXX")
    if _html_run "$tmp" --dump-dom "file://$abs"; then
        rows=$(html_count '<tr data-line="[0-9]+" data-verified="(true|false)"' "$tmp")
        marks=$(html_count '<g class="mark" data-mark="[0-9]+" data-verified="(true|false)"' "$tmp")
        bad_rows=$(html_count '<tr data-line="[0-9]+" data-verified="false"' "$tmp")
        bad_marks=$(html_count '<g class="mark" data-mark="[0-9]+" data-verified="false"' "$tmp")
        # one mark per row: the same numbers, each once
        if ((rows == lines && marks == lines && bad_rows == flagged && bad_marks == flagged)) &&
            ! grep -qi '<script' "$tmp" &&
            diff <(grep -oE '<tr data-line="[0-9]+"' "$tmp" | grep -oE '[0-9]+' | sort -n) \
                <(grep -oE 'data-mark="[0-9]+"' "$tmp" | grep -oE '[0-9]+' | sort -n | uniq) >/dev/null; then
            ok "in Chromium: $lines rows and $lines marks, one per line, $flagged of each flagged, no script"
        else
            not_ok "in Chromium the page does not show the audit's lines" \
                "wanted $lines rows and marks, $flagged flagged" \
                "got $rows rows ($bad_rows flagged), $marks marks ($bad_marks flagged)" \
                "script elements: $(grep -ci '<script' "$tmp")"
        fi
    else
        not_ok "Chromium could not open the page (exit $?)" "$(tail -3 "$t_root/chromium.log")"
    fi
    [[ -n $dom ]] && cp "$tmp" "$dom"
    rm -f "$tmp"

    # 3. a picture of it, kept for a person to look at
    tmp=$(mktemp -d "$t_root/shot.XXXXXX")
    mkdir -p "$(dirname "$png")"
    rm -f "$png"
    if _html_run /dev/null --screenshot="$tmp/page.png" --window-size=1400,1000 "file://$abs"; then
        magic=$(head -c 8 "$tmp/page.png" 2>/dev/null | od -An -tx1 | tr -d ' \n')
        size=$(stat -c %s "$tmp/page.png" 2>/dev/null || echo 0)
        if [[ $magic == 89504e470d0a1a0a ]] && ((size > 8192)) && cp "$tmp/page.png" "$png"; then
            ok "a screenshot of the page: a PNG of $size bytes, kept at $png"
        else
            not_ok "no usable screenshot" "magic $magic, $size bytes"
        fi
    else
        not_ok "Chromium could not take a screenshot (exit $?)" "$(tail -3 "$t_root/chromium.log")"
    fi
    rm -rf "$tmp"
}
