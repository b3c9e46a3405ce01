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

# ---- a roster too big to sign ----
# The JSON may be edited up to 4 MiB, but a signed roster is a signed note
# of at most 1 MiB, which relays and nodes refuse above: roster sign says
# so, with both sizes, and writes nothing (it said "input exceeds the size
# limit").
mkdir big
run 0 roster init big/roster.json --framework big
L=$(printf '%0500d' 0 | tr 0 a)
SPEC="name=$L;email=${L:0:400}@example.org;phone=$L;hours=$L;tz=$L"
CONTACTS=()
for ((i = 0; i < 16; i++)); do CONTACTS+=(--contact "$SPEC"); done
for ((i = 0; i < 30; i++)); do
    "$KEYS" gen --id n$i.big --role partner --out big >/dev/null 2>&1 &&
        "$KEYS" roster add big/roster.json --pub big/n$i.big.pub --country JP \
            --org Big "${CONTACTS[@]}" >/dev/null 2>&1 || break
done
if [ "$i" -eq 30 ] && [ "$(stat -c %s big/roster.json)" -gt 1100000 ]; then ok; else
    bad "big/roster.json: 30 nodes, over 1.1 MB (got $i nodes)"
fi
cp big/roster.json big/before.json
fails 1 roster sign big/roster.json --key k/coord.test.key --out big/roster.signed
has "$ERR" "roster big/roster.json: signed it would be"
has "$ERR" "more than the 1048576 bytes a signed roster may have"
if [ -e big/roster.signed ]; then bad "big/roster.signed written"; else ok; fi
if cmp -s big/before.json big/roster.json; then ok; else bad "a refused sign changed big/roster.json"; fi
# A signed file over the cap is refused for its size, not as "not a
# well-formed signed note".
{
    printf 'renraku roster v1\n'
    head -c 1100000 /dev/zero | tr '\0' a
    printf '\n'
} >big/huge.signed
fails 1 roster verify big/huge.signed --coordinator "$VKEY"
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
