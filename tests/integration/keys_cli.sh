#!/usr/bin/env bash
# integration.keys.cli: runs the real renraku-keys program through a
# framework's life: identities, a roster with contacts and groups, signing,
# verifying, revoking and re-signing, tampering, and every usage error.
# Usage: keys_cli.sh path/to/renraku-keys
set -u

KEYS=$(realpath -- "${1:?usage: keys_cli.sh path/to/renraku-keys}")
if [ ! -x "$KEYS" ]; then
    echo "keys_cli.sh: $KEYS is not an executable" >&2
    exit 1
fi
T=$(mktemp -d /tmp/rk-keys-cli-XXXXXX) || exit 1
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1

PASSED=0
FAILED=0
OUT=$T/out
ERR=$T/err

ok() {
    PASSED=$((PASSED + 1))
}
bad() {
    FAILED=$((FAILED + 1))
    echo "FAIL: $*"
    sed 's/^/    stdout: /' "$OUT"
    sed 's/^/    stderr: /' "$ERR"
}

# run CODE ARGS...: runs renraku-keys, expects exit CODE.
run() {
    local want=$1 got
    shift
    "$KEYS" "$@" >"$OUT" 2>"$ERR"
    got=$?
    LAST="$*"
    if [ "$got" -eq "$want" ]; then ok; else bad "[$*] exit $got, want $want"; fi
}

# fails CODE ARGS...: a refusal: exit CODE and exactly one stderr line,
# the program's error line.
fails() {
    local n
    run "$@"
    n=$(wc -l <"$ERR")
    if [ "$n" -eq 1 ] && grep -q '^renraku-keys: error: ' "$ERR"; then
        ok
    else
        bad "[$LAST] want one 'renraku-keys: error:' line on stderr, got $n"
    fi
}

# has FILE TEXT: FILE contains TEXT (fixed string).
has() {
    if grep -qF -- "$2" "$1"; then ok; else bad "[$LAST] $1 lacks '$2'"; fi
}
lacks() {
    if grep -qF -- "$2" "$1"; then bad "[$LAST] $1 has '$2'"; else ok; fi
}
quiet() {
    if [ -s "$ERR" ]; then bad "[$LAST] wrote to stderr"; else ok; fi
}
mode_is() {
    local m
    m=$(stat -c %a "$1")
    if [ "$m" = "$2" ]; then ok; else bad "$1 mode $m, want $2"; fi
}

# ---- identities ----
printf 'test passphrase for the cli\n' >pass.txt
run 0 gen --id coord.test --role coordinator --out k
quiet
has "$OUT" "k/coord.test.key"
run 0 gen --id jp.nisc --role partner --out k
run 0 gen --id us.cisa --role partner --out k
run 0 gen --id sg.csa --role partner --out k --encrypt --passphrase-file pass.txt
has "$OUT" "encrypted"
mode_is k/jp.nisc.key 600
mode_is k/sg.csa.key 600
mode_is k/jp.nisc.pub 644

run 0 show k/jp.nisc.pub
has "$OUT" "jp.nisc"
has "$OUT" "partner"
has "$OUT" "vkey        jp.nisc+"
cp "$OUT" show-pub.txt
run 0 show k/jp.nisc.key
# The secret file shows the same public keys as the public file.
if cmp -s "$OUT" show-pub.txt; then ok; else bad "show .key differs from show .pub"; fi
run 0 vkey k/coord.test.pub
VKEY=$(cat "$OUT")
case $VKEY in
coord.test+????????+*) ok ;;
*) bad "vkey output '$VKEY'" ;;
esac
run 0 vkey k/coord.test.key
has "$OUT" "$VKEY"
# An encrypted key file opens with --passphrase-file, as in every command
# that reads a secret key; it gives the same keys as its .pub file.
run 0 vkey k/sg.csa.pub
cp "$OUT" sg-vkey.txt
run 0 vkey k/sg.csa.key --passphrase-file pass.txt
quiet
if cmp -s "$OUT" sg-vkey.txt; then ok; else bad "vkey of the encrypted .key differs from its .pub"; fi
run 0 show k/sg.csa.pub
cp "$OUT" sg-show.txt
run 0 show --passphrase-file pass.txt k/sg.csa.key
quiet
if cmp -s "$OUT" sg-show.txt; then ok; else bad "show of the encrypted .key differs from its .pub"; fi
fails 1 vkey k/sg.csa.key --passphrase-file missing.txt
has "$ERR" "key file k/sg.csa.key is encrypted: passphrase file missing.txt"
# Without a terminal the error names the key file and the option to use,
# which vkey and show take.
if command -v setsid >/dev/null; then
    for cmd in vkey show; do
        setsid -w "$KEYS" $cmd k/sg.csa.key </dev/null >"$OUT" 2>"$ERR"
        got=$?
        LAST="setsid -w $cmd k/sg.csa.key"
        if [ $got -eq 1 ]; then ok; else bad "[$LAST] exit $got, want 1"; fi
        has "$ERR" "key file k/sg.csa.key is encrypted"
        has "$ERR" "use --passphrase-file"
    done
fi
# A .pub file is never encrypted: a passphrase for it is not used, and
# that is said.
run 0 vkey k/sg.csa.pub --passphrase-file pass.txt
has "$ERR" "renraku-keys: warning: k/sg.csa.pub is a public key file"
has "$OUT" "sg.csa+"

# ---- the roster ----
run 0 roster init roster.json --framework test-framework
has roster.json '"serial": 0'
run 0 roster add roster.json --pub k/jp.nisc.pub --country JP \
    --org "NISC" --group g7 --group quad \
    --contact "name=Duty desk;email=soc@nisc.example;phone=+81-3-0000;hours=24/7;tz=Asia/Tokyo;lang=ja,en" \
    --contact "name=Liaison;email=liaison@nisc.example"
run 0 roster add roster.json --pub k/us.cisa.pub --country US --org CISA \
    --group g7 --group quad --not-before 2026-01-01T00:00:00Z
run 0 roster add roster.json --pub k/sg.csa.pub --country SG \
    --org "Cyber Security Agency" --group asean \
    --contact "name=SingCERT;email=cert@csa.example;tz=Asia/Singapore"
has roster.json '"id": "sg.csa"'
has roster.json '"timezone": "Asia/Tokyo"'
has roster.json '"quad"'
has roster.json '"not_before": "2026-01-01T00:00:00Z"'
# The same node twice, and another node's keys, are refused.
fails 1 roster add roster.json --pub k/jp.nisc.pub --country JP --org X
has "$ERR" "already in the roster"
fails 1 roster add roster.json --pub k/coord.test.pub --country JP --org X
has "$ERR" "coordinator"

run 0 roster sign roster.json --key k/coord.test.key --out roster.signed
has "$OUT" "serial 1"
has roster.json '"serial": 1'
head -1 roster.signed >first-line
has first-line "renraku roster v1"
run 0 roster verify roster.signed --coordinator k/coord.test.pub
has "$OUT" "serial 1, 3 nodes"
run 0 roster verify roster.signed --coordinator "$VKEY"
has "$OUT" "signed by coord.test"
run 0 roster show roster.signed --coordinator "$VKEY"
has "$OUT" "jp.nisc"
has "$OUT" "soc@nisc.example"
has "$OUT" "g7,quad"
run 0 roster show roster.json
has "$OUT" "serial 1"
# A signed roster is shown only verified: without --coordinator it is
# recognised and the option named (it was "not valid JSON").
fails 2 roster show roster.signed
has "$ERR" "roster roster.signed: a signed roster"
has "$ERR" "--coordinator"
lacks "$ERR" "not valid JSON"
cp roster.signed edit.signed
fails 1 roster add edit.signed --pub k/jp.nisc.pub --country JP --org X
has "$ERR" "edit.signed: a signed roster"
lacks "$ERR" "not valid JSON"
if cmp -s edit.signed roster.signed; then ok; else bad "a refused add changed the signed roster"; fi
# A signed roster copied as text (mail, an editor: every line end made
# CRLF) does not verify; each command says so (show said "not valid
# JSON", verify only "not a well-formed signed note").
sed 's/$/\r/' roster.signed >crlf.signed
fails 1 roster show crlf.signed
has "$ERR" "roster crlf.signed: a signed roster whose line ends were changed to CRLF"
lacks "$ERR" "not valid JSON"
for cmd in verify show; do
    fails 1 roster $cmd crlf.signed --coordinator "$VKEY"
    has "$ERR" "roster crlf.signed: refused: signature: not a well-formed signed note: its line ends were changed to CRLF"
done
cp crlf.signed crlf-before.signed
fails 1 roster add crlf.signed --pub k/jp.nisc.pub --country JP --org X
has "$ERR" "crlf.signed: a signed roster"
has "$ERR" "line ends were changed to CRLF"
if cmp -s crlf.signed crlf-before.signed; then ok; else bad "a refused add changed crlf.signed"; fi
run 0 roster show roster.signed --coordinator "$VKEY" --json
cp "$OUT" shown.json
if cmp -s shown.json roster.json; then ok; else bad "show --json differs from roster.json"; fi

# A partner's key, even decrypted, does not sign the roster.
fails 1 roster sign roster.json --key k/sg.csa.key --out x.signed \
    --passphrase-file pass.txt
has "$ERR" "coordinator"
printf 'wrong\n' >wrong.txt
fails 1 roster sign roster.json --key k/sg.csa.key --out x.signed \
    --passphrase-file wrong.txt
has "$ERR" "k/sg.csa.key"
if [ -e x.signed ]; then bad "x.signed written"; else ok; fi

# A passphrase file for a key file that is not encrypted is not used:
# said on stderr (the key is not protected as its owner may believe), and
# the signing goes on. An encrypted key with its passphrase says nothing.
cp roster.json plain-key.json
run 0 roster sign plain-key.json --key k/coord.test.key --out plain-key.signed \
    --passphrase-file pass.txt
has "$ERR" "renraku-keys: warning: key file k/coord.test.key is not encrypted"
has "$ERR" "pass.txt was not used"
if [ "$(wc -l <"$ERR")" -eq 1 ]; then ok; else bad "[$LAST] want one warning line"; fi
run 0 roster verify plain-key.signed --coordinator "$VKEY"

# An encrypted coordinator key file as --coordinator of verify and show
# opens with --passphrase-file (without a terminal their hint said to use
# it, and both refused it); a passphrase with nothing to open is named.
run 0 gen --id coord.enc --role coordinator --out k --encrypt --passphrase-file pass.txt
cp roster.json enc.json
run 0 roster sign enc.json --key k/coord.enc.key --out enc.signed --passphrase-file pass.txt
run 0 roster verify enc.signed --coordinator k/coord.enc.key --passphrase-file pass.txt
has "$OUT" "signed by coord.enc"
run 0 roster show enc.signed --coordinator k/coord.enc.key --passphrase-file pass.txt
has "$OUT" "jp.nisc"
if command -v setsid >/dev/null; then
    setsid -w "$KEYS" roster verify enc.signed --coordinator k/coord.enc.key </dev/null >"$OUT" 2>"$ERR"
    [ $? = 2 ] && ok || bad "verify with an encrypted --coordinator, no terminal: exit 2"
    has "$ERR" "key file k/coord.enc.key is encrypted"
fi
fails 2 roster show roster.json --passphrase-file pass.txt
has "$ERR" "--passphrase-file is for an encrypted --coordinator key file"
run 0 roster verify enc.signed --coordinator "$("$KEYS" vkey k/coord.enc.pub)" --passphrase-file pass.txt
has "$ERR" "--coordinator is a verifier key, not a key file, so the passphrase in pass.txt was not used"

# ---- revoke and re-sign ----
run 0 roster revoke roster.json --id us.cisa --reason "key compromised"
run 0 roster sign roster.json --key k/coord.test.key --out roster2.signed
has "$OUT" "serial 2"
run 0 roster verify roster2.signed --coordinator "$VKEY" --held-serial 1
has "$OUT" "serial 2"
fails 1 roster verify roster2.signed --coordinator "$VKEY" --held-serial 2
has "$ERR" "serial"
fails 1 roster verify roster.signed --coordinator "$VKEY" --held-serial 2
has "$ERR" "not newer"
run 0 roster show roster2.signed --coordinator "$VKEY"
has "$OUT" "key compromised"
has "$OUT" "revoked"

# ---- tampering ----
sed 's/"organisation": "CISA"/"organisation": "CIZA"/' roster2.signed >tampered.signed
if cmp -s tampered.signed roster2.signed; then bad "sed did not tamper"; else ok; fi
fails 1 roster verify tampered.signed --coordinator "$VKEY"
has "$ERR" "signature"
# Signed by another coordinator key of the same name.
mkdir other
run 0 gen --id coord.test --role coordinator --out other
cp roster.json other-roster.json
run 0 roster sign other-roster.json --key other/coord.test.key --out other.signed
fails 1 roster verify other.signed --coordinator "$VKEY"
has "$ERR" "signature"
fails 1 roster verify roster2.signed --coordinator other/coord.test.pub
has "$ERR" "signature"
# A --coordinator that is no file, or a folder, is named as that (it said
# "neither a file nor a verifier key", and for a folder of renraku-keys
# show only the OS's "Is a directory" without the flag).
fails 2 roster verify roster.signed --coordinator k/nosuch.pub
has "$ERR" "--coordinator k/nosuch.pub: no such file, and not a verifier key (name+hash+key) either"
fails 2 roster verify roster.signed --coordinator other
has "$ERR" "--coordinator other: is a directory, not a key file (.pub)"
fails 2 roster show roster.signed --coordinator other
has "$ERR" "--coordinator other: is a directory"
# A key file of another role is named as that, at once: it was taken, and
# the roster then refused for its signature, which reads as tampering.
# Only the coordinator signs rosters.
fails 2 roster verify roster.signed --coordinator k/jp.nisc.pub
has "$ERR" "--coordinator k/jp.nisc.pub: the key of 'jp.nisc', role partner; --coordinator needs the coordinator's key (role coordinator), which signs the roster"
lacks "$ERR" "signature"
fails 2 roster show roster.signed --coordinator k/us.cisa.key
has "$ERR" "--coordinator k/us.cisa.key: the key of 'us.cisa', role partner; --coordinator needs the coordinator's key (role coordinator)"
# A verifier key has no role: it is pinned as it is, and the roster is
# refused for its signature.
fails 1 roster verify roster.signed --coordinator "$("$KEYS" vkey k/jp.nisc.pub)"
has "$ERR" "signature"
lacks "$ERR" "role"

# ---- usage errors (exit 2) ----
fails 2
has "$ERR" "--help"
fails 2 frobnicate
has "$ERR" "frobnicate"
fails 2 gen
fails 2 gen --id x.y --role partner
fails 2 gen --id x.y --role admin --out k
has "$ERR" "--role admin"
fails 2 gen --id JP.NISC --role partner --out k
has "$ERR" "--id JP.NISC"
fails 2 gen --id "" --role partner --out k
fails 2 gen --id x.y --role partner --out k --bogus
has "$ERR" "--bogus"
# A value for a flag that takes none is named as such: optopt alone made
# "--encrypt=1" an unknown "-e".
fails 2 gen --id x.y --role partner --out k --encrypt=1
has "$ERR" "--encrypt takes no value"
fails 2 roster show roster.json --json=1
has "$ERR" "--json takes no value"
fails 2 gen --id x.y --role partner --out k -ey
has "$ERR" "unknown option -e"
fails 2 gen --id
has "$ERR" "--id"
fails 2 show
fails 2 show a b
fails 2 vkey
fails 2 vkey k/sg.csa.key --passphrase-file
has "$ERR" "--passphrase-file needs a value"
fails 2 show k/sg.csa.key --frob
has "$ERR" "--frob"
fails 2 roster
fails 2 roster frob roster.json
has "$ERR" "frob"
fails 2 roster init new.json
has "$ERR" "--framework"
fails 2 roster init --framework f
fails 2 roster add roster.json --pub k/jp.nisc.pub --org X
has "$ERR" "--country"
fails 2 roster add roster.json --pub k/jp.nisc.pub --country JP --org X \
    --not-before yesterday
has "$ERR" "--not-before yesterday"
fails 2 roster add roster.json --pub k/jp.nisc.pub --country JP --org X \
    --not-after 2027-13-01T00:00:00Z
has "$ERR" "--not-after"
fails 2 roster revoke roster.json
has "$ERR" "--id"
fails 2 roster sign roster.json --key k/coord.test.key
has "$ERR" "--out"
fails 2 roster verify roster.signed
has "$ERR" "--coordinator"
fails 2 roster verify roster.signed --coordinator "$VKEY" --held-serial two
has "$ERR" "--held-serial two"
fails 2 roster verify roster.signed --coordinator nothing+00000000+AAAA
has "$ERR" "--coordinator"
fails 2 roster show roster.json --frob
has "$ERR" "--frob"
lacks "$ERR" "add:"
# An option the subcommand does not use is refused, not ignored: a
# validity without --rotate changed nothing yet said "updated".
cp roster.json before-opts.json
fails 2 roster update roster.json --id jp.nisc --not-after 2027-01-01T00:00:00Z
has "$ERR" "--not-after"
has "$ERR" "--rotate"
fails 2 roster update roster.json --id jp.nisc --org X --not-before 2027-01-01T00:00:00Z
has "$ERR" "--not-before"
fails 2 roster remove roster.json --id jp.nisc --reason gone
has "$ERR" "roster remove does not take --reason"
fails 2 roster sign roster.json --key k/coord.test.key --out z.signed --id jp.nisc
has "$ERR" "--id"
if [ -e z.signed ]; then bad "z.signed written"; else ok; fi
fails 2 roster verify roster.signed --coordinator "$VKEY" --json
has "$ERR" "--json"
if cmp -s before-opts.json roster.json; then ok; else bad "a refused option changed roster.json"; fi

# ---- failures of the operation (exit 1) ----
cp roster.json before.json
fails 1 roster add roster.json --pub k/jp.nisc.pub --country JPN --org X
has "$ERR" "country"
fails 1 roster add roster.json --pub k/jp.nisc.pub --country jp --org X
has "$ERR" "country"
if cmp -s before.json roster.json; then ok; else bad "refused add changed roster.json"; fi
fails 1 roster add roster.json --pub missing.pub --country JP --org X
has "$ERR" "missing.pub"
# Every error about a .pub file names it, whatever is wrong inside.
printf '{"renraku_public_key":1,"id":"x.y"}\n' >norole.pub
printf '{\n' >broken.pub
sed 's/"sign": "[^"]*"/"sign": "short"/' k/jp.nisc.pub >badkey.pub
for f in norole.pub broken.pub badkey.pub; do
    fails 1 roster add roster.json --pub $f --country JP --org X
    has "$ERR" "--pub $f: "
    fails 1 roster update roster.json --id jp.nisc --rotate $f
    has "$ERR" "--rotate $f: "
    fails 1 show $f
    has "$ERR" "public key file $f: "
    lacks "$ERR" "$f: $f"
    fails 2 roster verify roster.signed --coordinator $f
    has "$ERR" "$f: "
done
has "$ERR" "sign: not 32 bytes of base64"
# ... and says what is wrong with it. An empty file was "'[' or '{'
# expected near end of file" (and for show, vkey and --coordinator "unsafe
# file permissions"), a secret key file given for a .pub "'[' or '{'
# expected near 'RNRKSEC'", any bad key "not 32 bytes of base64".
: >empty.pub
printf '  \n\n' >blank.pub
sed 's/"sign": "[^"]*"/"sign": "AAAA"/' k/jp.nisc.pub >short.pub
sed 's/"enc": "\([^"]*\)="/"enc": "\1AAAAA"/' k/jp.nisc.pub >long.pub
sed 's/"transport": "[^"]*"/"transport": "not base64!"/' k/jp.nisc.pub >garbled.pub
printf 'jp.nisc+0efb76d4+AQUJ\n' >vkey.txt
# pub_refused FILE PROBLEM: every command that reads FILE as a .pub says
# "FILE: PROBLEM"; exit 1, or 2 for --coordinator (a usage error).
pub_refused() {
    fails 1 roster add roster.json --pub "$1" --country JP --org X
    has "$ERR" "--pub $1: $2"
    fails 1 roster update roster.json --id jp.nisc --rotate "$1"
    has "$ERR" "--rotate $1: $2"
}
pub_refused empty.pub "empty: no public key in it"
pub_refused blank.pub "empty: no public key in it"
pub_refused short.pub "sign: not 32 bytes of base64: it decodes to 3 bytes (a key is 32 bytes"
pub_refused long.pub "enc: not 32 bytes of base64: it decodes to 36 bytes"
pub_refused garbled.pub "transport: not 32 bytes of base64: not base64 at all"
pub_refused k/jp.nisc.key "a secret key file (.key), not a public key file (.pub)"
# show, vkey and --coordinator read a .key or a .pub, by what is in it;
# anything else is named as neither, not refused for its mode.
for f in empty.pub blank.pub vkey.txt; do
    for cmd in show vkey; do
        fails 1 $cmd $f
        has "$ERR" "$f: "
        has "$ERR" "neither a public key file (.pub, JSON) nor a renraku secret key file (.key)"
        lacks "$ERR" "permissions"
    done
    fails 2 roster verify roster.signed --coordinator $f
    has "$ERR" "$f: "
    has "$ERR" "neither a public key file"
done
has "$ERR" "vkey.txt: neither"
fails 1 show empty.pub
has "$ERR" "empty.pub: empty: neither"
for f in short.pub long.pub garbled.pub; do
    fails 1 show $f
    has "$ERR" "public key file $f: "
    has "$ERR" ": not 32 bytes of base64: "
done
fails 1 roster show missing.json
has "$ERR" "missing.json"
fails 1 roster verify missing.signed --coordinator "$VKEY"
has "$ERR" "missing.signed"
fails 1 show missing.pub
has "$ERR" "missing.pub"
fails 1 roster init roster.json --framework again
has "$ERR" "refusing to overwrite"
fails 1 roster revoke roster.json --id nobody
has "$ERR" "nobody"
# Keys are never overwritten.
cp k/jp.nisc.key jp.before
fails 1 gen --id jp.nisc --role partner --out k
has "$ERR" "refusing to overwrite"
if cmp -s jp.before k/jp.nisc.key; then ok; else bad "jp.nisc.key changed"; fi
fails 1 gen --id new.node --role partner --out k --passphrase-file missing.txt
has "$ERR" "missing.txt"
if [ -e k/new.node.key ]; then bad "new.node.key written"; else ok; fi
# Unsafe key files are refused.
chmod 644 k/jp.nisc.key
fails 1 show k/jp.nisc.key
has "$ERR" "0600"
chmod 600 k/jp.nisc.key
ln -s jp.nisc.key k/link.key
fails 1 show k/link.key
has "$ERR" "link"
fails 1 roster sign roster.json --key roster.json --out y.signed
if [ -e y.signed ]; then bad "y.signed written"; else ok; fi
# --out replaces only a signed roster: not the coordinator's secret key,
# not the roster JSON it signs (both were overwritten, exit 0).
cp k/coord.test.key coord.before
cp roster.json roster.before
fails 1 roster sign roster.json --key k/coord.test.key --out k/coord.test.key
has "$ERR" "refusing to overwrite"
if cmp -s coord.before k/coord.test.key; then ok; else bad "coord.test.key overwritten"; fi
fails 1 roster sign roster.json --key k/coord.test.key --out roster.json
if cmp -s roster.before roster.json; then ok; else bad "roster.json overwritten"; fi
run 0 roster sign roster.json --key k/coord.test.key --out roster2.signed
has "$OUT" "serial 3"
# A rotation needs new keys: the node's current .pub again is refused
# (it said "updated" and left the old keys in force).
cp roster.json roster.before
fails 1 roster update roster.json --id jp.nisc --rotate k/jp.nisc.pub
has "$ERR" "already holds these keys"
if cmp -s roster.before roster.json; then ok; else bad "a refused rotation changed roster.json"; fi
run 0 gen --id jp.nisc --role partner --out rot
run 0 roster update roster.json --id jp.nisc --rotate rot/jp.nisc.pub
run 0 roster show roster.json --json
if [ "$(grep -c '"sign"' "$OUT")" -eq 4 ]; then ok; else bad "rotation: want 4 key sets in the roster"; fi

# ---- rosters near and over the size a signed roster may have ----
# Well under the cap, an edit says nothing about size: its one line on
# stdout, nothing on stderr, whichever subcommand.
cp roster.json small.json
run 0 roster update small.json --id sg.csa --org "CSA Singapore" --group g20
quiet
run 0 roster suspend small.json --id sg.csa --reason "audit"
quiet
run 0 roster activate small.json --id sg.csa --reason "audit passed"
quiet
has small.json '"status_reason": "audit passed"'
run 0 roster revoke small.json --id jp.nisc --reason "keys lost"
quiet
run 0 roster remove small.json --id jp.nisc
quiet
run 0 roster add small.json --pub k/jp.nisc.pub --country JP --org NISC
quiet
# The JSON may be edited up to 4 MiB, but a signed roster is a signed note
# of at most 1 MiB, which relays and nodes refuse above: roster add,
# update, suspend, revoke and activate refuse an edit that would take the
# roster over it, and write nothing. Rosters this big are written here
# directly as JSON (a gen and an add per node would take seconds).
CAP=1048576
mkdir cap
A37=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
# pad LEN: LEN bytes of text.
pad() {
    local p
    printf -v p '%*s' "$1" ''
    printf '%s' "${p// /p}"
}
L500=$(pad 500)
BIG_CONTACTS='['
for ((i = 0; i < 16; i++)); do BIG_CONTACTS+="{\"name\": \"$L500\"}, "; done
BIG_CONTACTS="${BIG_CONTACTS%, }]"
# roster_json NB NS ORG: a roster of NB big filler nodes (16 contacts,
# about 10 KB each), NS small ones, then pad.cap with organisation ORG.
# Every key differs: s/e/t, the node's number, 37 A's and '=' (base64
# of 32 bytes).
roster_json() {
    local nb=$1 ns=$2 i id o c
    printf '{"renraku_roster": 1, "framework": "cap", "serial": 0, '
    printf '"nodes": [\n'
    for ((i = 0; i <= nb + ns; i++)); do
        if [ "$i" -lt "$nb" ]; then
            printf -v id 'b%05d.cap' "$i"
            o=$L500 c=$BIG_CONTACTS
        elif [ "$i" -lt $((nb + ns)) ]; then
            printf -v id 's%05d.cap' "$i"
            o=Filler c='[]'
        else
            id=pad.cap o=$3 c='[]'
        fi
        printf '{"id": "%s", "country": "JP", "organisation": "%s", ' "$id" "$o"
        printf '"role": "partner", "groups": [], "contacts": %s, ' "$c"
        printf '"keys": [{"sign": "s%05d%s=", "enc": "e%05d%s=", ' \
            "$i" "$A37" "$i" "$A37"
        printf '"transport": "t%05d%s=", ' "$i" "$A37"
        printf '"not_before": "2026-01-01T00:00:00Z"}]}'
        if [ "$i" -lt $((nb + ns)) ]; then printf ',\n'; fi
    done
    printf '\n]}\n'
}
# bound FILE: the most FILE can be once signed, worked out here from a
# real signing by coord.test (10 bytes of key name): + 53 for a
# coordinator id of 63 bytes, + 4 when the signing fell on a whole
# second (an issued time without ".123"). 0 when it does not sign.
# The signed copy is left in cap/m.signed.
bound() {
    local s
    cp "$1" cap/m.json
    "$KEYS" roster sign cap/m.json --key k/coord.test.key --out cap/m.signed \
        >/dev/null 2>&1 || {
        echo 0
        return
    }
    s=$(stat -c %s cap/m.signed)
    grep -q '^  "issued": "[^"]*\.[0-9][0-9][0-9]Z",$' cap/m.signed || s=$((s + 4))
    echo $((s + 63 - 10))
}
# add_last FILE: adds last.cap (fixed not-before: its width is fixed).
add_last() {
    "$KEYS" roster add "$1" --pub cap/last.cap.pub --country JP --org Last \
        --not-before 2026-01-01T00:00:00Z
}
"$KEYS" gen --id last.cap --role partner --out cap >/dev/null
# B0: the bound with no filler, last.cap in; a big filler adds DB bytes,
# a small one DS. NB big and NS small ones leave a rest R under 512 bytes,
# which pad.cap's organisation takes up.
roster_json 0 0 p >cap/m00.json && add_last cap/m00.json >/dev/null
roster_json 1 0 p >cap/m10.json && add_last cap/m10.json >/dev/null
roster_json 0 1 p >cap/m01.json && add_last cap/m01.json >/dev/null
B0=$(bound cap/m00.json)
DB=$(($(bound cap/m10.json) - B0))
DS=$(($(bound cap/m01.json) - B0))
if [ "$B0" -gt 0 ] && [ "$DS" -gt 0 ] && [ "$DB" -gt "$DS" ]; then ok; else
    bad "cap: no filler sizes (base $B0, fillers of $DB and $DS bytes)"
    DB=10000 DS=500 # go on, failing below rather than looping
fi
NB=$(((CAP - B0) / DB))
NS=$(((CAP - B0 - NB * DB) / DS))
R=$((CAP - B0 - NB * DB - NS * DS))
if [ "$R" -ge 0 ] && [ "$R" -lt 511 ]; then ok; else
    bad "cap: fillers of $DB and $DS bytes leave $R: want < 511"
    R=0
fi
# at.json: with last.cap added it is exactly at the cap; over.json one
# byte longer.
roster_json "$NB" "$NS" "$(pad $((1 + R)))" >cap/at.json
roster_json "$NB" "$NS" "$(pad $((2 + R)))" >cap/over.json
B=$(bound cap/over.json)
if [ "$B" -gt 0 ] && [ "$B" -le "$CAP" ]; then ok; else
    bad "cap/over.json: signs before the add (bound $B)"
fi

# One node more than can be signed: refused before anything is written,
# naming the file, the size, the cap and what to do.
sum=$(sha256sum <cap/over.json)
fails 1 roster add cap/over.json --pub cap/last.cap.pub --country JP \
    --org Last --not-before 2026-01-01T00:00:00Z
has "$ERR" "roster cap/over.json: not changed"
has "$ERR" "signed it would be up to $((CAP + 1)) bytes"
has "$ERR" "more than the $CAP bytes a signed roster may have"
has "$ERR" "relays and nodes refuse a larger one"
has "$ERR" "remove nodes or shorten fields"
if [ "$(sha256sum <cap/over.json)" = "$sum" ]; then ok; else
    bad "a refused add changed cap/over.json"
fi
# Exactly at the cap it goes in, and signs (for a 10-byte coordinator id,
# 53 bytes under the cap), and verifies.
run 0 roster add cap/at.json --pub cap/last.cap.pub --country JP \
    --org Last --not-before 2026-01-01T00:00:00Z
quiet
B=$(bound cap/at.json)
if [ "$B" -eq "$CAP" ]; then ok; else bad "cap/at.json: bound $B, want $CAP"; fi
run 0 roster verify cap/m.signed --coordinator "$VKEY"
has "$OUT" "$((NB + NS + 2)) nodes"
# update, revoke and suspend that grow a roster at the cap are refused
# the same way; an edit that does not grow it, or shrinks it, is not.
sum=$(sha256sum <cap/at.json)
fails 1 roster update cap/at.json --id last.cap --org Lastt
has "$ERR" "roster cap/at.json: not changed"
has "$ERR" "signed it would be up to $((CAP + 1)) bytes"
fails 1 roster revoke cap/at.json --id b00000.cap --reason compromised
has "$ERR" "roster cap/at.json: not changed"
fails 1 roster suspend cap/at.json --id b00000.cap
has "$ERR" "roster cap/at.json: not changed"
# activate grows a roster by its --reason (and from revoked or suspended
# to active shrinks it by a few bytes): an active node at the cap given a
# reason is refused as well: by 42 bytes, the line
# '      "status_reason": "back in service",' and its newline.
fails 1 roster activate cap/at.json --id b00000.cap --reason "back in service"
has "$ERR" "roster cap/at.json: not changed"
has "$ERR" "signed it would be up to $((CAP + 42)) bytes"
has "$ERR" "more than the $CAP bytes a signed roster may have"
if [ "$(sha256sum <cap/at.json)" = "$sum" ]; then ok; else
    bad "a refused update, revoke, suspend or activate changed cap/at.json"
fi
run 0 roster activate cap/at.json --id b00000.cap
quiet
if [ "$(sha256sum <cap/at.json)" = "$sum" ]; then ok; else
    bad "activate of an active node changed cap/at.json"
fi
run 0 roster update cap/at.json --id last.cap --org Tsal
quiet
has cap/at.json '"organisation": "Tsal"'
run 0 roster remove cap/at.json --id b00000.cap
quiet
run 0 roster revoke cap/at.json --id b00001.cap --reason compromised
quiet

# A roster already over the cap (edited by hand) is not signed: roster
# sign says so, with both sizes, and writes nothing (it said "input
# exceeds the size limit"). An edit may make it smaller, with a warning
# that it is still too big, but not larger.
roster_json $((NB + 10)) 0 p >cap/big.json
cp cap/big.json cap/big-before.json
fails 1 roster sign cap/big.json --key k/coord.test.key --out cap/big.signed
has "$ERR" "roster cap/big.json: signed it would be"
has "$ERR" "more than the $CAP bytes a signed roster may have"
if [ -e cap/big.signed ]; then bad "cap/big.signed written"; else ok; fi
if cmp -s cap/big-before.json cap/big.json; then ok; else bad "a refused sign changed cap/big.json"; fi
fails 1 roster add cap/big.json --pub cap/last.cap.pub --country JP --org Last
has "$ERR" "roster cap/big.json: not changed"
if cmp -s cap/big-before.json cap/big.json; then ok; else bad "a refused add changed cap/big.json"; fi
run 0 roster remove cap/big.json --id b00000.cap
has "$OUT" "b00000.cap removed"
has "$ERR" "renraku-keys: warning: roster cap/big.json: signed it would still be up to"
lacks cap/big.json '"b00000.cap"'
run 0 roster update cap/big.json --id b00001.cap --org "$(pad 499)q"
has "$ERR" "renraku-keys: warning: roster cap/big.json: signed it would still be up to"
has cap/big.json "$(pad 499)q"
# A signed file over the cap is refused for its size, not as "not a
# well-formed signed note".
{
    printf 'renraku roster v1\n'
    head -c 1100000 /dev/zero | tr '\0' a
    printf '\n'
} >cap/huge.signed
fails 1 roster verify cap/huge.signed --coordinator "$VKEY"
has "$ERR" "more than the 1048576 bytes a signed roster may have"
lacks "$ERR" "well-formed"

# ---- help (exit 0, on stdout) ----
for cmd in "--help" "help" "gen --help" "show --help" "vkey --help" \
    "roster --help" "roster add --help" "roster sign --help" \
    "roster verify --help"; do
    # shellcheck disable=SC2086
    run 0 $cmd
    has "$OUT" "usage: renraku-keys"
    quiet
done

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
