"""The `supervisor` command. The only place that exits: 0 ok, 1 user error or a failed check, 3 crash."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from .errors import ConfigError, SupervisorError

EXIT_OK, EXIT_USER, EXIT_CRASH = 0, 1, 3

DESCRIPTION = """\
edu-supervisor: a proxy that makes any LLM fit for school. Schools point their chat apps at it instead of
their LLM provider; every answer is checked against the student's country curriculum and child-safety rules
(YAML under curricula/) and passed, flagged for a teacher, rewritten or blocked."""

COMMON_COMMANDS = """\
common commands:
  supervisor serve                                   run the proxy and the teachers' review pages (port 8000)
  supervisor keys issue --school demo-jp --grade 8   print an API key for a school's chat app
  supervisor check --country jp --grade 8 "TEXT"     judge one answer; exit 1 on a block (see --fail-on)
  supervisor lint curricula policies                 validate curriculum edits and run their examples
  supervisor users add NAME --school ID --role teacher   create a review-page account
  supervisor redteam --max-attack-success 0.05       attack the proxy; exit 1 above 5% attack success

`supervisor COMMAND --help` explains a command's options. Exit codes: 0 ok, 1 a problem to fix (bad input,
a failed lint, a check or red-team run over its limit), 2 a mistyped command line, 3 a crash (a bug: please
report it with the traceback)."""

# how far a decision goes, for `check --fail-on`: failing on `flag` fails on rewrite and block too
DECISION_ORDER = ("pass", "flag", "rewrite", "block")


def _settings(args):
    from .settings import load_settings

    settings = load_settings(getattr(args, "config", None))
    if getattr(args, "curricula", None):
        settings = settings.with_overrides(curricula_dir=Path(args.curricula).resolve())
    return settings


def cmd_serve(args) -> int:
    from .startup import pause_collector

    pause_collector()  # until the server is ready (app.build_services resumes it): restart ~5.1 -> ~3.9 s
    import uvicorn

    from .app import create_app
    from .local_server import ListeningServer
    from .logs import configure_logging

    settings = _settings(args)
    overrides = {k: v for k, v in (("host", args.host), ("port", args.port)) if v}
    settings = settings.with_overrides(**overrides)
    configure_logging(settings.log_level)
    # proxy_headers off: X-Forwarded-Proto is believed only from SUPERVISOR_TRUSTED_PROXIES, by the app itself
    # (review/web.py is_https), not from whatever uvicorn trusts by default
    # log_config None: uvicorn's own warnings go through our JSON handler instead of its plain-text one
    config = uvicorn.Config(create_app(settings), host=settings.host, port=settings.port, log_level="warning",
                            log_config=None, timeout_graceful_shutdown=settings.shutdown_grace, proxy_headers=False)
    ListeningServer(config).run()
    return EXIT_OK


def _read_text(value: str) -> str:
    return sys.stdin.read() if value == "-" else value


def cmd_check(args) -> int:
    from .policy import DEFAULT_POLICY
    from .services import make_embedder, make_rulebook, make_supervisor

    settings = _settings(args)
    embedder = make_embedder(settings)
    rulebook = make_rulebook(settings, embedder, countries=[args.country])
    compiled = rulebook.for_country(args.country)
    messages = [{"role": "user", "content": args.user}] if args.user else None
    verdict = make_supervisor(settings, embedder).check_sync(
        compiled, DEFAULT_POLICY, response=_read_text(args.text), messages=messages, grade=args.grade,
        lang=args.lang, mode=args.mode)
    if args.json:
        print(json.dumps(verdict.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(f"decision: {verdict.decision}    curriculum: {verdict.curriculum}    lang: {verdict.lang}"
              f"    grade: {verdict.grade}")
        for f in verdict.findings:
            print(f"  {verdict.actions.get(f.rule_id, '?'):7} {f.rule_id} ({f.category}, {f.severity}, "
                  f"{f.stage} {f.score:.3f}) [{f.target} {f.span[0]}:{f.span[1]}] {f.sentence[:100]!r}")
    if fails_check(verdict.decision, args.fail_on):
        print(f"check failed: decision {verdict.decision} (--fail-on {args.fail_on})", file=sys.stderr)
        return EXIT_USER
    return EXIT_OK


def fails_check(decision: str, fail_on: str) -> bool:
    """Whether `decision` is at least as far as `fail_on` goes (`never`: nothing fails)."""
    return fail_on != "never" and DECISION_ORDER.index(decision) >= DECISION_ORDER.index(fail_on)


def cmd_lint(args) -> int:
    from .lint import lint_rulebook
    from .policy import load_policies
    from .probes import lint_probes
    from .rules.loader import load_curricula
    from .services import make_embedder, make_rulebook, save_cache

    settings = _settings(args)
    paths = [Path(p).resolve() for p in args.paths] or [settings.curricula_dir, settings.policies_dir]
    roots, countries, policy_dirs = set(), set(), []
    for path in paths:
        if not path.exists():  # else its parent would be linted instead: every country, none of them asked for
            print(f"{path}: no such file or folder", file=sys.stderr)
            return EXIT_USER
        folder = path if path.is_dir() else path.parent
        if (folder / "schools.yaml").exists() or (folder / "policies.yaml").exists():
            policy_dirs.append(folder)
        elif (folder / "country.yaml").exists() or (folder / "baseline.yaml").exists():
            roots.add(folder.parent)
            if not folder.name.startswith("_"):
                countries.add(folder.name)
        elif (folder / "_baseline").is_dir():
            roots.add(folder)
        else:
            print(f"{path}: not a curricula folder, a country folder or a policies folder", file=sys.stderr)
            return EXIT_USER
    if len(roots) > 1:
        print("lint one curricula tree at a time: " + ", ".join(map(str, sorted(roots))), file=sys.stderr)
        return EXIT_USER
    problems, report = [], None
    for folder in policy_dirs:
        try:
            load_policies(folder)
        except ConfigError as exc:
            problems.extend(exc.problems)
    if roots:
        root = roots.pop()
        settings = settings.with_overrides(curricula_dir=root)
        only = sorted(countries) or None
        try:
            if args.no_examples or problems:
                curricula = load_curricula(root, only)
            else:  # compiling loads and validates too: read the files once
                embedder = make_embedder(settings)
                rulebook = make_rulebook(settings, embedder, countries=only)
                curricula = {country: c.curriculum for country, c in rulebook.compiled.items()}
                report = lint_rulebook(rulebook, embedder.embed, set(only) if only else None)
                problems.extend(report.problems)
                save_cache(settings, embedder)  # examples split into new sentences are embedded once
            problems.extend(lint_probes(root, curricula, only))
        except ConfigError as exc:
            problems.extend(exc.problems)
    if args.json:
        out = report.to_dict() if report else {"ok": not problems, "rules": [], "warnings": []}
        out["problems"] = [{"file": p.file, "line": p.line, "message": p.message} for p in problems]
        out["ok"] = not problems
        print(json.dumps(out, ensure_ascii=False, indent=2))
    else:
        for p in problems:
            print(p)
        if report:
            for w in report.warnings:
                print(f"warning: {w}")
            tested = sum(r.tested for r in report.rules)
            failing = sum(1 for r in report.rules if not r.ok)
            print(f"{len(report.rules)} rule checks, {tested} examples run, {failing} rules with failing examples, "
                  f"{len(problems)} problems", file=sys.stderr)
        elif not problems:
            print("ok (structure only)" if args.no_examples else "ok", file=sys.stderr)
    return EXIT_USER if problems else EXIT_OK


def cmd_eval(args) -> int:
    from .evaluation import evaluate_file, format_table

    settings = _settings(args)
    result = evaluate_file(settings, Path(args.file), progress=not args.json and not args.quiet)
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        print(format_table(result))
    return EXIT_OK


def cmd_redteam(args) -> int:
    from .logs import configure_logging
    from .redteam import ATTACKS_FILE, BENIGN_FILE, RunOptions, redteam
    from .redteam.report import format_table

    settings = _settings(args)
    configure_logging("warning")  # the per-decision log lines would bury the progress bar; the report has them
    benign = None if args.no_benign else Path(args.benign) if args.benign else BENIGN_FILE
    options = RunOptions(upstreams=tuple(args.upstream or ["scripted"]), grade=args.grade, stream=args.stream,
                         concurrency=args.concurrency, policy=args.policy, workdir=Path(args.workdir),
                         progress=not args.quiet)
    report = redteam(settings, Path(args.prompts) if args.prompts else ATTACKS_FILE, benign, options,
                     countries=args.country, json_out=Path(args.json) if args.json else None,
                     html_out=Path(args.html) if args.html else None, limit=args.limit)
    print(format_table(report))
    if args.max_attack_success is not None:
        over = attack_success_over(report, args.max_attack_success)
        for line in over:
            print(line, file=sys.stderr)
        if over:
            return EXIT_USER
    return EXIT_OK


def cmd_compare(args) -> int:
    from .compare import HTML_NAME, JSON_NAME, RunOptions, compare
    from .compare.report import format_table
    from .logs import configure_logging

    settings = _settings(args)
    configure_logging("warning")  # the per-decision log lines would bury the progress bar; the report has them
    if args.concurrency < 1:
        print("--concurrency must be at least 1", file=sys.stderr)
        return EXIT_USER
    out = Path(args.out)
    options = RunOptions(concurrency=args.concurrency, policy=args.policy, workdir=out / "proxy",
                         progress=not args.quiet)
    report = compare(settings, args.upstream, args.country, out, grades=args.grades, options=options)
    print(format_table(report))
    print(f"report: {out / HTML_NAME} (JSON: {out / JSON_NAME})")
    return EXIT_OK


def attack_success_over(report: dict, limit: float) -> list[str]:
    """One line per upstream whose attack success with the supervisor is above `limit` (a share, 0 to 1), or
    that could not be measured at all (every attack failed): a gate must not pass what it did not see."""
    lines = []
    for model, result in report["models"].items():
        rate = result["overall"]["asr_with_supervisor"]
        if rate is None:
            lines.append(f"{model}: attack success could not be measured (every attack errored)")
        elif rate > limit:
            lines.append(f"{model}: attack success with the supervisor {rate:.1%} is above "
                         f"--max-attack-success {limit:.1%}")
    return lines


def _share(text: str) -> float:
    """A share from 0 to 1, written as 0.05 or 5%."""
    try:
        value = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a share such as 0.05 or 5%, got {text!r}") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"expected a share from 0 to 1 (or 0% to 100%), got {text!r}")
    return value


def cmd_schema(args) -> int:
    from .policy import POLICIES_FILE, SCHOOLS_FILE
    from .rules.schema import export

    schemas = {**export(), "policies": POLICIES_FILE, "schools": SCHOOLS_FILE}
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        for name, body in schemas.items():
            (out / f"{name}.schema.json").write_text(json.dumps(body, ensure_ascii=False, indent=2) + "\n")
        print(f"wrote {len(schemas)} schemas to {out}")
    else:
        print(json.dumps(schemas[args.which] if args.which else schemas, ensure_ascii=False, indent=2))
    return EXIT_OK


def _age_range(text: str) -> tuple[int, int]:
    low, _, high = text.partition("-")
    try:
        ages = (int(low), int(high or low))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected ages like 8-9, got {text!r}") from None
    if not 3 <= ages[0] <= ages[1] <= 120:
        raise argparse.ArgumentTypeError(f"expected ages from 3 to 120, lowest first, got {text!r}")
    return ages


def cmd_keys_issue(args) -> int:
    from .policy import load_policies
    from .store import open_store

    settings = _settings(args)
    policies = load_policies(settings.policies_dir)
    if args.school not in policies.schools:
        print(f"unknown school {args.school!r}; known: {', '.join(sorted(policies.schools))} "
              f"(schools are defined in {settings.policies_dir / 'schools.yaml'})", file=sys.stderr)
        return EXIT_USER
    store = open_store(settings.database_url)
    try:
        key = store.issue_key(args.school, label=args.label, grade=args.grade, ages=args.ages)
    finally:
        store.close()
    print(key)
    print(f"# API key for school {args.school}; shown once, only its hash is stored.", file=sys.stderr)
    return EXIT_OK


def _print_report(report, as_json: bool, where: str) -> int:
    if as_json:
        print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    else:
        for problem in report.problems:
            print(f"{where}: {problem}")
        for warning in report.warnings:
            print(f"warning: {warning}", file=sys.stderr)
        verdict = "ok" if report.ok else f"FAILED: {len(report.problems)} problem(s)"
        print(f"{verdict}: {report.records} records, {report.checkpoints} signed checkpoints "
              f"(last at seq {report.last_signed_seq}), keys {', '.join(report.keys) or 'none'}", file=sys.stderr)
    return EXIT_OK if report.ok else EXIT_USER


def cmd_audit_verify(args) -> int:
    from .store.bundle import read_keys, verify_bundle

    trusted = read_keys(Path(args.public_key)) if args.public_key else None
    if args.bundle:
        return _print_report(verify_bundle(Path(args.bundle), trusted), args.json, args.bundle)
    from .store import open_store

    settings = _settings(args)
    db = settings.database_url.removeprefix("sqlite:///")
    if settings.database_url.startswith("sqlite:///") and db != ":memory:" and not Path(db).is_file():
        print(f"no database at {db}: set SUPERVISOR_DATABASE_URL (or --config) to the deployment's database, "
              "or verify an exported bundle with --bundle DIR", file=sys.stderr)
        return EXIT_USER
    from .store.witness import read_witness

    try:
        witness = read_witness(settings.audit_witness_path())
    except (OSError, ValueError, KeyError) as exc:
        print(f"the audit witness {settings.audit_witness_path()} cannot be read ({exc}): the newest records "
              "cannot be checked against it", file=sys.stderr)
        return EXIT_USER
    store = open_store(settings.database_url)
    try:
        return _print_report(store.audit_verify(trusted, witness), args.json, "audit")
    finally:
        store.close()


def cmd_audit_export(args) -> int:
    from .services import open_signed_store
    from .store.bundle import export_bundle

    store, _ = open_signed_store(_settings(args))
    try:
        manifest = export_bundle(store, Path(args.dir))
    finally:
        store.close()
    print(f"wrote {manifest['records']} records and {manifest['checkpoints']} checkpoints to {args.dir}; "
          f"verify anywhere with: supervisor audit verify --bundle {args.dir}", file=sys.stderr)
    return EXIT_OK


def cmd_audit_checkpoint(args) -> int:
    from .services import open_signed_store

    store, signer = open_signed_store(_settings(args))
    try:
        cp = store.checkpoint()
    finally:
        store.close()
    print(f"signed seq {cp.seq} with key {cp.key_id}" if cp else "nothing new to sign", file=sys.stderr)
    return EXIT_OK


def cmd_audit_purge(args) -> int:
    from .policy import load_policies
    from .retention import purge_expired
    from .services import open_signed_store

    settings = _settings(args)
    policies = load_policies(settings.policies_dir)
    store, _ = open_signed_store(settings)
    try:
        purged = purge_expired(store, policies, older_than_days=args.older_than_days)
    finally:
        store.close()
    for school, (count, cutoff) in sorted(purged.items()):
        print(f"{school}: {count} exchange(s) written before {cutoff} purged (tombstones keep the chain)")
    if not purged:
        print("nothing to purge: no school's policy sets a retention period that has passed", file=sys.stderr)
    return EXIT_OK


def cmd_verify_response(args) -> int:
    from .provenance import verify_response
    from .store.bundle import read_keys

    try:
        saved = json.loads(Path(args.file).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        print(f"{args.file}: cannot read a saved response ({exc}); expected JSON "
              '{"headers": {...}, "body": <chat.completion object or SSE text>}', file=sys.stderr)
        return EXIT_USER
    if args.keys:
        keys = read_keys(Path(args.keys))
    elif args.url:
        import httpx

        from .app import KEYS_PATH
        from .store.bundle import keys_from_document

        response = httpx.get(args.url.rstrip("/") + KEYS_PATH, timeout=10)
        response.raise_for_status()
        keys = keys_from_document(response.json())
    else:
        from .store import open_store

        store = open_store(_settings(args).database_url)
        try:
            keys = store.public_keys()
        finally:
            store.close()
    check = verify_response(saved, keys)
    for problem in check.problems:
        print(f"{args.file}: {problem}")
    c = check.claims
    if check.ok:
        print(f"ok: signed by key {c['kid']} at {c['t']}: request {c['rid']}, decision {c['d']}, curriculum {c['c']}",
              file=sys.stderr)
    return EXIT_OK if check.ok else EXIT_USER


def _read_password(prompt: bool) -> str:
    """The new password: typed twice at a terminal (not echoed), else the first line of standard input."""
    if prompt and sys.stdin.isatty():
        import getpass

        first, again = getpass.getpass("password: "), getpass.getpass("again: ")
        if first != again:
            raise SupervisorError("the two passwords differ; nothing was changed")
        return first
    return sys.stdin.readline().rstrip("\r\n")


def cmd_users_add(args) -> int:
    from .policy import load_policies
    from .review.auth import hash_password, password_problem
    from .review.i18n import UI_LANGUAGES
    from .store import open_store
    from .store.sqlite import now

    settings = _settings(args)
    schools = load_policies(settings.policies_dir).schools
    unknown = [s for s in args.school if s not in schools]
    if unknown:
        print(f"unknown school {', '.join(map(repr, unknown))}; known: {', '.join(sorted(schools))} "
              f"(schools are defined in {settings.policies_dir / 'schools.yaml'})", file=sys.stderr)
        return EXIT_USER
    if args.role == "teacher" and len(args.school) != 1:
        print("a teacher belongs to exactly one school: give --school once (or use --role admin)", file=sys.stderr)
        return EXIT_USER
    if args.lang not in UI_LANGUAGES:
        print(f"--lang must be one of {', '.join(UI_LANGUAGES)}", file=sys.stderr)
        return EXIT_USER
    password = _read_password(prompt=True)
    problem = password_problem(password)
    if problem:
        print(f"{problem}; the password is read from standard input, e.g. "
              f"`printf '%s\\n' \"$PW\" | supervisor users add ...`", file=sys.stderr)
        return EXIT_USER
    store = open_store(settings.database_url)
    try:
        store.add_user(args.username, hash_password(password), args.role, args.school, args.lang, now())
    finally:
        store.close()
    print(f"created {args.role} {args.username!r} for {', '.join(args.school)}; sign in at /review", file=sys.stderr)
    return EXIT_OK


def _store_with_user(args):
    """The record store, open, when `args.username` is a review account in it; None (store closed, the user
    told) when it is not."""
    from .store import open_store

    store = open_store(_settings(args).database_url)
    if store.user(args.username) is None:
        store.close()
        print(f"unknown user {args.username!r} (see `supervisor users list`)", file=sys.stderr)
        return None
    return store


def cmd_users_passwd(args) -> int:
    """An administrator's password reset: a new password from standard input; every session of the user ends."""
    import time

    from .review.auth import hash_password, password_problem

    store = _store_with_user(args)
    if store is None:
        return EXIT_USER
    try:
        password = _read_password(prompt=True)
        if problem := password_problem(password):
            print(f"{problem}; nothing was changed", file=sys.stderr)
            return EXIT_USER
        store.update_user(args.username, password_hash=hash_password(password))
        store.end_sessions(args.username, time.time())
        store.clear_login_failures(args.username)
    finally:
        store.close()
    print(f"new password set for {args.username!r}; their sessions were signed out", file=sys.stderr)
    return EXIT_OK


def cmd_users_disable(args) -> int:
    """Disable (or, with --enable, re-enable) a review account; disabling signs out all its sessions."""
    import time

    store = _store_with_user(args)
    if store is None:
        return EXIT_USER
    try:
        store.set_disabled(args.username, not args.enable, time.time())
    finally:
        store.close()
    print(f"{args.username!r} is {'enabled' if args.enable else 'disabled and signed out'}", file=sys.stderr)
    return EXIT_OK


def cmd_users_list(args) -> int:
    from .store import open_store

    store = open_store(_settings(args).database_url)
    try:
        for user in store.users():
            print(f"{user['username']}\t{user['role']}\t{','.join(user['schools'])}\t{user['lang']}")
    finally:
        store.close()
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    from .rules.schema import export as schema_files

    parser = argparse.ArgumentParser(prog="supervisor", description=DESCRIPTION, epilog=COMMON_COMMANDS,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", metavar="FILE",
                        help="settings file (YAML; keys as in supervisor/settings.py); SUPERVISOR_* environment "
                             "variables override it")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", title="commands")
    curricula_help = "curricula folder to use instead of the shipped one"

    p = sub.add_parser("serve", help="run the proxy and the review pages")
    p.add_argument("--host", help="address to listen on (default 127.0.0.1; 0.0.0.0 in a container)")
    p.add_argument("--port", type=int, help="port to listen on (default 8000)")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("check", help="judge one answer and print the verdict",
                       description="Judge one answer as the proxy would and print the verdict. The exit code "
                                   "says whether it went as far as --fail-on: usable in scripts and CI.")
    p.add_argument("--country", required=True, metavar="CC", help="country whose curriculum applies (e.g. jp)")
    p.add_argument("--grade", type=int, metavar="N", help="the student's grade (default: the curriculum's)")
    p.add_argument("--lang", metavar="LL", help="the answer's language (default: guessed from the text)")
    p.add_argument("--mode", default="tutor", choices=["tutor", "open", "exam"],
                   help="the school's mode (default tutor)")
    p.add_argument("--user", help="the student's message the answer replies to")
    p.add_argument("--json", action="store_true", help="print the verdict as JSON")
    p.add_argument("--fail-on", default="block", choices=[*DECISION_ORDER[1:], "never"],
                   help="exit 1 when the decision is this or stronger (flag < rewrite < block); "
                        "default block; never: always exit 0")
    p.add_argument("--curricula", metavar="DIR", help=curricula_help)
    p.add_argument("text", help="the answer to judge, or - for standard input")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("lint", help="validate curricula and policies and run the examples inside them")
    p.add_argument("paths", nargs="*", metavar="PATH",
                   help="curricula folder, country folders or policies folder (default: the configured ones)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--no-examples", action="store_true", help="structure only; do not run the model")
    p.set_defaults(func=cmd_lint)

    p = sub.add_parser("eval", help="score a JSONL case file (format: docs/eval-format.md)",
                       description="Score a file of labelled answers (one JSON case per line, the format in "
                                   "docs/eval-format.md): recall, false-alarm rate and action accuracy, overall, "
                                   "per language and per category.")
    p.add_argument("file", help="the case file, one JSON case per line (docs/eval-format.md)")
    p.add_argument("--json", action="store_true",
                   help="print overall, by_lang, by_category and per-case results as one JSON object")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--curricula", metavar="DIR", help=curricula_help)
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("redteam", help="send attack prompts through the proxy and report what got through",
                       description="Send attack prompts through a real proxy in front of each upstream and "
                                   "report attack success without and with the supervisor, and false alarms "
                                   "on benign cases. With --max-attack-success the exit code gates CI.")
    p.add_argument("--prompts", help="attack cases (JSONL; default: the shipped starter set)")
    p.add_argument("--upstream", nargs="+", metavar="MODEL",
                   help="litellm model strings, names under `upstreams:` in --config, `demo`, or `scripted` "
                        "(alias `fake`: answers each case's scripted answer, offline); default: scripted")
    p.add_argument("--benign", help="benign cases, docs/eval-format.md (default: the shipped starter set)")
    p.add_argument("--no-benign", action="store_true", help="skip the false-alarm measurement")
    p.add_argument("--country", nargs="+", metavar="CC", help="only cases for these countries")
    p.add_argument("--json", metavar="OUT", help="write the full report as JSON")
    p.add_argument("--html", metavar="OUT", help="write the report as a self-contained HTML page")
    p.add_argument("--grade", type=int, default=8, help="grade for cases that name none (default 8)")
    p.add_argument("--stream", action="store_true", help="ask the proxy for streamed answers")
    p.add_argument("--concurrency", type=int, default=2, help="requests in flight at once (default 2)")
    p.add_argument("--policy", default="default", help="the action policy the red-team schools use")
    p.add_argument("--limit", type=int, help="only the first N attack and N benign cases (a quick look)")
    p.add_argument("--workdir", default="redteam-run", help="where the run's databases and policies go")
    p.add_argument("--max-attack-success", type=_share, metavar="SHARE",
                   help="exit 1 when any upstream's attack success with the supervisor is above this share "
                        "(0.05 or 5%%), or could not be measured; default: no limit, exit 0")
    p.add_argument("--curricula", metavar="DIR", help=curricula_help)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_redteam)

    p = sub.add_parser("compare", help="ask upstream models each country's probes and report how the answers fit "
                                        "its curriculum")
    p.add_argument("--upstream", action="append", required=True, metavar="MODEL",
                   help="demo, a name under `upstreams:` in the config file, or a litellm model string; repeat it")
    p.add_argument("--country", action="append", required=True, metavar="CC",
                   help="a country with curricula/<cc>/probes.yaml; repeat it")
    p.add_argument("--out", default="compare-report", help="folder for compare.json, compare.html and the run's "
                                                           "proxy database (default compare-report)")
    p.add_argument("--grades", type=int, nargs="+", choices=range(1, 13), metavar="N",
                   help="ask each probe at these grades inside its band (default: the youngest of its band)")
    p.add_argument("--concurrency", type=int, default=2, help="probes in flight at once (default 2)")
    p.add_argument("--policy", default="default", help="the action policy the compare schools use")
    p.add_argument("--curricula", help="curricula folder (default: the shipped one)")
    p.add_argument("--quiet", action="store_true", help="no progress bar (there is none when stderr is not a "
                                                        "terminal)")
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("schema", help="print the JSON Schemas of the YAML files, for editors")
    p.add_argument("which", nargs="?", choices=[*schema_files(), "policies", "schools"],
                   help="only this file kind's schema (default: all of them in one JSON object)")
    p.add_argument("--out", metavar="DIR", help="write one <name>.schema.json per file into this folder")
    p.set_defaults(func=cmd_schema)

    keys = sub.add_parser("keys", help="API keys for schools").add_subparsers(dest="keys_command", required=True,
                                                                                metavar="COMMAND")
    p = keys.add_parser("issue", help="print a new API key for a school once; only its hash is stored")
    p.add_argument("--school", required=True, metavar="ID", help="the school's id in policies/schools.yaml")
    p.add_argument("--grade", type=int, choices=range(1, 13), metavar="N",
                   help="the grade this key's students are judged at; requests cannot state another")
    p.add_argument("--ages", type=_age_range, metavar="LOW-HIGH",
                   help="the ages this key's students have (e.g. 8-9); requests cannot state another age, "
                        "and the age gate assumes LOW when none is stated")
    p.add_argument("--label", help="a note for whom the key is (e.g. 'class 5-2 tablets')")
    p.set_defaults(func=cmd_keys_issue)

    audit = sub.add_parser("audit", help="the tamper-evident audit log").add_subparsers(
        dest="audit_command", required=True, metavar="COMMAND")
    p = audit.add_parser("verify", help="check the audit chain; non-zero exit and the first altered record")
    p.add_argument("--bundle", metavar="DIR", help="verify an exported bundle folder instead of the database")
    p.add_argument("--public-key", metavar="KEYS.json",
                   help="trust only the keys in this file (/.well-known/supervisor-keys.json)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=cmd_audit_verify)
    p = audit.add_parser("export", help="write a self-contained bundle (records, checkpoints, public keys)")
    p.add_argument("dir", help="folder to write the bundle into")
    p.set_defaults(func=cmd_audit_export)
    p = audit.add_parser("checkpoint", help="sign the chain's head now")
    p.set_defaults(func=cmd_audit_checkpoint)
    p = audit.add_parser("purge", help="purge exchanges older than each school's policy retention (tombstones)")
    p.add_argument("--older-than-days", type=int, metavar="N",
                   help="purge this age instead of the policies' retention.days (never below minimum_days)")
    p.set_defaults(func=cmd_audit_purge)

    p = sub.add_parser("verify-response", help="check a saved answer's signature, text, decision and curriculum")
    p.add_argument("file", help='JSON {"headers": {...}, "body": chat.completion object or SSE text}')
    group = p.add_mutually_exclusive_group()
    group.add_argument("--keys", help="the deployment's keys file (/.well-known/supervisor-keys.json, saved)")
    group.add_argument("--url", help="the proxy's base URL: fetch its /.well-known/supervisor-keys.json")
    p.set_defaults(func=cmd_verify_response)
    users = sub.add_parser("users", help="review-page accounts").add_subparsers(dest="users_command", required=True,
                                                                                  metavar="COMMAND")
    p = users.add_parser("add", help="create a review account; the password is read from standard input")
    p.add_argument("username", help="the name the reviewer signs in with")
    p.add_argument("--school", required=True, action="append", metavar="ID",
                   help="the teacher's school; repeat for an administrator over several schools")
    p.add_argument("--role", required=True, choices=["teacher", "admin"],
                   help="teacher: one school's items; admin: several schools, suggestions for the ministry")
    p.add_argument("--lang", default="en", help="language of the review pages: en, ja, th or vi (default en)")
    p.set_defaults(func=cmd_users_add)
    p = users.add_parser("passwd", help="reset a review account's password (read from standard input); "
                                         "signs out all its sessions")
    p.add_argument("username", help="the account whose password is reset")
    p.set_defaults(func=cmd_users_passwd)
    p = users.add_parser("disable", help="disable a review account and sign out all its sessions")
    p.add_argument("username", help="the account to disable (or enable)")
    p.add_argument("--enable", action="store_true", help="enable the account again instead")
    p.set_defaults(func=cmd_users_disable)
    p = users.add_parser("list", help="list review accounts (no passwords)")
    p.set_defaults(func=cmd_users_list)
    return parser


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before any OpenMP runtime loads (models/onnx_engine.py)
    # numpy's BLAS on one thread, set before numpy loads: the proxy's parallelism is across requests (one engine
    # per core), and BLAS threads that spin for a busy core made a start's small linear algebra 10-200x slower
    # (a 384x384 eigh: 6 s on two threads, 0.03 s on one, on the shared 2-core machine)
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    args = build_parser().parse_args(argv)
    if args.func is not cmd_serve:  # serve configures its JSON log lines itself
        from .logs import configure_command_logging

        configure_command_logging()
    try:
        code = args.func(args)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        code = EXIT_USER
    except SupervisorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        code = EXIT_USER
    except KeyboardInterrupt:
        code = EXIT_USER
    except Exception:  # noqa: BLE001 - the one place that turns a crash into an exit code
        import traceback

        traceback.print_exc()
        code = EXIT_CRASH
    sys.exit(code)
