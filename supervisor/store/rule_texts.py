"""The words of every rule as each curriculum version stated them, so a review page can show the rule that
judged an exchange, not whatever the rule says today.

An exchange records its curriculum as `<country>@<version>` (a content hash of the files). Whenever a
rulebook is put in force (at start and after each hot reload) every rule of every curriculum is kept here
under that label, once: the texts of a version never change, so a second write of the same label is a no-op.
The body is JSON: category, severity, descriptions per language and the source document. Plain tables and
`?` parameters, the same SQL on SQLite and PostgreSQL (see reviews.py).
"""

from __future__ import annotations

import json

RULE_TEXT_SCHEMA = """
CREATE TABLE IF NOT EXISTS rule_texts (
    curriculum  TEXT NOT NULL,
    rule_id     TEXT NOT NULL,
    body        TEXT NOT NULL,
    PRIMARY KEY (curriculum, rule_id)
);
"""


class RuleTextTables:
    """Mixed into a store that provides `_transaction()` and `_select()` (see ReviewTables)."""

    def keep_rule_texts(self, curriculum: str, rules: dict[str, dict]) -> int:
        """Keep `rules` (rule id -> body) under the curriculum label unless that label is already kept.
        Returns how many rules were written."""
        if self._select("SELECT 1 FROM rule_texts WHERE curriculum = ? LIMIT 1", (curriculum,)):
            return 0
        with self._transaction() as tx:
            for rule_id, body in rules.items():
                tx.execute("INSERT INTO rule_texts (curriculum, rule_id, body) VALUES (?, ?, ?) "
                           "ON CONFLICT (curriculum, rule_id) DO NOTHING",
                           (curriculum, rule_id, json.dumps(body, ensure_ascii=False, sort_keys=True)))
        return len(rules)

    def rule_text(self, curriculum: str, rule_id: str) -> dict | None:
        rows = self._select("SELECT body FROM rule_texts WHERE curriculum = ? AND rule_id = ?",
                            (curriculum, rule_id))
        return json.loads(rows[0]["body"]) if rows else None
