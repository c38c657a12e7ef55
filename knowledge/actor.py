"""Who acts: a question about what a candidate did against a clause about what staff must not do.

考生作弊被抓怎么处理 asks what to do about a candidate; 考评人员管理办法 第八条(八) (协助任何机构、考生作弊)
shares 考生 and 作弊 with it but is about an evaluator helping. The hand-set lexical score of such a clause is
lowered by ACTOR_PENALTY before ranking, so the rank features the fitted ranker sees (score, gap to the best,
reciprocal rank) already reflect it (wt-kb3 tried it as a ranker feature only: too few training questions to
outweigh the rank).
"""

from __future__ import annotations

import re

ACTOR_PENALTY = 0.2
# The question's subject is the candidate (考生作弊…, 有考生…, 如果考生…) and the asker does not speak of themselves.
_CANDIDATE_SUBJECT = re.compile(r"^(?:如果|要是|若|万一)?(?:有|有个|有的|碰到|遇到|发现)?考生")
_SELF = re.compile(r"我")
# The clause (with its heading) lists what staff must not do, or the sanctions of staff: a sentence whose subject is
# staff (it starts with the staff word), and not one about candidates that names staff (尊重考评人员，不得…).
_STAFF_MUST_NOT = re.compile(
    r"(?:^|[。:：])(?:任何)?(?:考评人员|考评员|监考人员|监考员|阅卷评分人员|督导员)[^。；]{0,8}?(?:不得|不准|不能|严禁|有以下)"
)


def candidate_subject(question: str) -> bool:
    """Whether the (normalised) question is about something a candidate does."""
    return bool(_CANDIDATE_SUBJECT.search(question)) and not _SELF.search(question)


def staff_prohibition(context: str, text: str) -> bool:
    """Whether a clause (its heading or its text, each normalised) states what staff must not do."""
    return bool(_STAFF_MUST_NOT.search(context) or _STAFF_MUST_NOT.search(text))
