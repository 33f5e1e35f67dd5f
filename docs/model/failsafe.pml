/*
 * failsafe.pml: the failsafe rules of issue 18 for spin.  See docs/model/README.md, section "failsafe.pml".
 * Written from the design the daemon implements (notes/failsafe-design.md, summarised in the README): the
 * lease part is a reduced copy of hotstandby.pml (renew fenced by epoch and holder, takeover compare-and-set
 * on the seen epoch and counter, one call at a time with a deadline, requests that commit after their sender
 * gave up); what is new is the failsafe.
 *
 *   - Lease row: epoch, holder, counter, `members` (dM[j]: node j is a member).  A takeover writes
 *     members := the registered nodes but me (a node registers with its first read); a membership change
 *     `... SET counter = counter + 1, members = $new WHERE epoch = mine AND holder = me AND counter =
 *     lastRenewed` counts as a renew when it succeeds; at most one is unsettled (issued and not answered,
 *     or failed at its deadline: it may still commit, until a successful write moves the counter).
 *   - Failsafe set of the active: the members its last successful write returned, plus the node of an
 *     unsettled change.  Cap: MAXDUR after the start of its last successful database write.
 *   - Rounds: at every tick of its clock the active starts a round (a wider model than "while a renew is
 *     overdue or failed": see the README), sending a beat (epoch, round) to the set; with an empty set the
 *     round counts as acked at once.  A new round replaces the previous one; the acks of the previous round
 *     still count during the next tick, from that round's start (the design's rounds start anywhere in a
 *     tick, so this covers them), older ones count for nothing.  On waking from SIGSTOP the overdue round
 *     starts at once and every older round is dead.
 *   - A node that receives a beat: starting / standby / claiming: the beat's epoch older than the one it
 *     knows -> "no" with its epoch; the same epoch but another holder than the one it knows -> refused;
 *     otherwise its takeover timer restarts at the beat's arrival and it acks with the round.  Confirming,
 *     active, demoting: "no" with its epoch.  A "no" naming a newer epoch than the active's fences it.
 *   - Extension: an ack of the current round (or of the previous one, from its start) from the node of the
 *     set: the fence base := max(base, round start).  Deadline = min(base + RENEW_DEADLINE, last write's
 *     start + MAXDUR).
 *   - Takeover wait: a standby whose last read lists it in `members` waits TIMEOUT since the value changed
 *     or a beat arrived; one not in `members` MAXDUR + TIMEOUT (the row's failsafe_max, the same MAXDUR on
 *     both nodes here).
 *
 * Two nodes, crashes and SIGSTOPs (FAULTS), MEMCH membership changes, requests, answers, beats and acks
 * lost or delayed on each link, takeovers and membership changes that commit after their sender gave up,
 * DRIFT ticks of drift.  Safety: never two nodes serving while both run.
 *
 * The states are reduced without losing behaviours (fsNormalize): epochs renamed keeping their order,
 * counters renamed, requests that can no longer commit forgotten, acks and "no"s that can no longer change
 * anything dropped, the round of a beat forgotten once its sender is not active, values a node does not
 * read in its state cleared.
 *
 * Relaxations (-DMUT_*, each must be a double active) and experiments (-DEXP_*: rules removed to see whether
 * safety needs them; it does not, in this model): see the README.
 */

#ifndef INTERVAL
#define INTERVAL 1
#endif
#ifndef TIMEOUT
#define TIMEOUT 4
#endif
#ifndef RENEW_DEADLINE
#define RENEW_DEADLINE 2
#endif
#ifndef MAXDUR
#define MAXDUR 6            /* the cap (failsafe_max): serving at most this long after the start of the last successful write */
#endif
#ifndef DRIFT
#define DRIFT 1
#endif
#ifndef CALLDL
#define CALLDL 1
#endif
#ifndef FAULTS
#define FAULTS 1            /* crashes and SIGSTOPs per run */
#endif
#ifndef MEMCH
#define MEMCH 1             /* membership changes per run */
#endif
#ifndef REACH
#define REACH 0             /* > 0: assert that situation n never happens (a reach check) */
#endif

#define NOBODY 2
#define DOWN     0
#define STARTING 1
#define STANDBY  2
#define CLAIMING 3
#define ACTIVE   4
#define DEMOTING 5
#define CONFIRMING 6    /* named in the lease (its own late takeover, or a restart): serves after a renew */

#define NONE 0
#define OBS  1
#define REN  2
#define TKO  3
#define MEM  4          /* membership change of the other node */

/* the round a beat or an ack belongs to, seen from the active that sent the beat */
#define OLD  1          /* an older round: its ack counts for nothing */
#define PREV 2          /* the previous round (started one tick ago) */
#define CUR  3          /* the current round (started at this tick) */
#define NO   4          /* (acks only) a "no" naming a newer epoch than the active's */

#define MIN(x, y) ((x) < (y) -> (x) : (y))
#define WAITMAX (MAXDUR + TIMEOUT)

/* the database: lease row with members (dM[j]: node j is a member), and which nodes have registered */
byte dE; byte dH = NOBODY; byte dC;
bit  dM[2]; bit dReg[2];

/* nodes */
byte st[2];
bit  serving[2]; bit frozen[2]; bit tail[2]; bit dropping[2];
/* standby: the last read, whether it lists this node in members, ticks since the value changed or a beat came */
byte vE[2]; byte vH[2]; byte vC[2]; bit vM[2];
byte chAge[2];
/* active: lease epoch (kept while demoting: its "no" names it) and last renewed counter; ticks since the
   fence base and since the start of the last successful write; whether its last write listed the other node
   in members; an unsettled membership change */
byte lE[2]; byte lC[2];
byte baseAge[2]; byte wAge[2];
bit  kM[2]; bit uns[2];
/* one call at a time: kind, age, ticks since the last one's start (capped at INTERVAL); the request in the
   network (q), the answer (p), a request given up that may still commit (o) */
byte cK[2]; byte cAge[2]; byte since[2];
byte qK[2]; byte qE[2]; byte qC[2]; bit qM[2];
byte pK[2]; bit pOk[2]; byte pE[2]; byte pH[2]; byte pC[2]; bit pM[2]; bit pMo[2];
byte oK[2]; byte oE[2]; byte oC[2]; bit oM[2];
/* links between the nodes, one message each way and kind (a newer one replaces the older):
   a beat from node i (its epoch, the round's tag) and the answer from node i to a beat (tag, or NO) */
byte bE[2]; byte bT[2];
byte aT[2];
byte rel;
byte faults; byte memch;

hidden byte kv, av, fresh, ok, tv, differs;

#define running(i) (!frozen[i] && !tail[i])
#define twoServing (serving[0] && serving[1] && running(0) && running(1))

c_code {
    /* counters: compared for equality only, renamed 1, 2, 3... by first appearance */
    static void fsRenameEq(uchar *refs[], int n) {
        uchar map[256]; uchar next = 1; int j;
        memset(map, 0, sizeof(map));
        for (j = 0; j < n; j++) {
            uchar v = *refs[j];
            if (v == 0) continue;
            if (map[v] == 0) map[v] = next++;
            *refs[j] = map[v];
        }
    }
    /* epochs: compared for order too ("a newer epoch"), renamed 1, 2, 3... keeping their order */
    static void fsRenameOrd(uchar *refs[], int n) {
        uchar seen[256]; uchar map[256]; uchar next = 1; int v, j;
        memset(seen, 0, sizeof(seen));
        for (j = 0; j < n; j++) seen[*refs[j]] = 1;
        map[0] = 0;
        for (v = 1; v < 256; v++) map[v] = seen[v] ? next++ : 0;
        for (j = 0; j < n; j++) *refs[j] = map[*refs[j]];
    }
    static void fsRename(void) {
        uchar *e[13] = { &now.dE, &now.vE[0], &now.vE[1], &now.lE[0], &now.lE[1], &now.qE[0], &now.qE[1],
                         &now.oE[0], &now.oE[1], &now.pE[0], &now.pE[1], &now.bE[0], &now.bE[1] };
        uchar *c[11] = { &now.dC, &now.vC[0], &now.vC[1], &now.lC[0], &now.lC[1], &now.qC[0], &now.qC[1],
                         &now.oC[0], &now.oC[1], &now.pC[0], &now.pC[1] };
        fsRenameOrd(e, 13);
        fsRenameEq(c, 11);
    }
    /* forget what can no longer change anything (the same behaviours from here on) */
    static void fsForget(void) {
        int i;
        if (now.dH != 2) now.dM[now.dH] = 0;          /* the holder's own entry is never read */
        for (i = 0; i < 2; i++) {
            int r = 1 - i;
            /* a request given up that can no longer match the row (epochs and counters never come back) */
            if (now.oK[i] == 3 && (now.oE[i] != now.dE || now.oC[i] != now.dC)) {
                now.oK[i] = 0; now.oE[i] = 0; now.oC[i] = 0; now.oM[i] = 0;
            }
#ifdef MUT_MEMBERS_NO_COUNTER
            if (now.oK[i] == 4 && (now.oE[i] != now.dE || now.dH != i)) {
#else
            if (now.oK[i] == 4 && (now.oE[i] != now.dE || now.dH != i || now.oC[i] != now.dC)) {
#endif
                now.oK[i] = 0; now.oE[i] = 0; now.oC[i] = 0; now.oM[i] = 0;
            }
            /* a request in the network that can no longer match: it fails whatever it carries */
            if (now.dE != 0 && now.qK[i] >= 2 && now.qE[i] != now.dE) { now.qE[i] = 0; now.qC[i] = 0; now.qM[i] = 0; }
            /* the round of a beat matters only for the ack, and only while its sender is active */
            if (now.bT[i] != 0 && now.st[i] != 4) now.bT[i] = 1;
            /* acks and "no"s to a node that is not active are ignored; an ack of an older round counts for nothing */
#ifdef MUT_ACK_ANY_ROUND
            if (now.aT[i] != 0 && now.st[r] != 4) now.aT[i] = 0;
#else
            if (now.aT[i] != 0 && (now.st[r] != 4 || now.aT[i] == 1)) now.aT[i] = 0;
#endif
            /* values a node does not read in its state */
            if (now.st[i] != 2 && now.st[i] != 3) now.chAge[i] = 0;
            if (now.cK[i] != 0 || (now.st[i] != 2 && now.st[i] != 4 && now.st[i] != 6)) now.since[i] = 0;
        }
    }
    static void fsNormalize(void) {
        fsForget();
        fsRename();
    }
}

inline showState() {
    printf(" | n0 st=%d srv=%d frz=%d base=%d w=%d kM=%d uns=%d chAge=%d view=(e%d h%d c%d m%d) lease=(e%d c%d) call=%d q=%d p=%d stale=%d beat=(e%d t%d) ack=%d",
           st[0], serving[0], frozen[0], baseAge[0], wAge[0], kM[0], uns[0], chAge[0], vE[0], vH[0], vC[0], vM[0], lE[0], lC[0], cK[0], qK[0], pK[0], oK[0], bE[0], bT[0], aT[0]);
    printf(" | n1 st=%d srv=%d frz=%d base=%d w=%d kM=%d uns=%d chAge=%d view=(e%d h%d c%d m%d) lease=(e%d c%d) call=%d q=%d p=%d stale=%d beat=(e%d t%d) ack=%d",
           st[1], serving[1], frozen[1], baseAge[1], wAge[1], kM[1], uns[1], chAge[1], vE[1], vH[1], vC[1], vM[1], lE[1], lC[1], cK[1], qK[1], pK[1], oK[1], bE[1], bT[1], aT[1]);
    printf(" | db e%d h%d c%d m%d%d reg%d%d | rel=%d\n", dE, dH, dC, dM[0], dM[1], dReg[0], dReg[1], rel)
}

/* reach checks (-DREACH=n): the situation must happen somewhere, so the assertion must fail
   1: an active rides through on acks: serving, the other node in its set, TIMEOUT + 1 ticks after its last write
   2: an active rides through alone (empty set) to one tick before the cap */
#define ridesOnAcks(i) (st[i] == ACTIVE && serving[i] && running(i) && (kM[i] || uns[i]) && wAge[i] > TIMEOUT)
#define ridesAlone(i) (st[i] == ACTIVE && serving[i] && running(i) && !kM[i] && !uns[i] && wAge[i] >= MAXDUR - 1)
#define reached ((REACH == 1 && (ridesOnAcks(0) || ridesOnAcks(1))) || (REACH == 2 && (ridesAlone(0) || ridesAlone(1))))
#define check(label) c_code { fsNormalize(); }; printf(label); showState(); assert(!twoServing && !reached)

/* epochs keep their order (a fresh one is the newest); counters are only compared for equality */
#define usedC(x) (x == dC || x == vC[0] || x == vC[1] || x == lC[0] || x == lC[1] || x == qC[0] || x == qC[1] || \
                  x == oC[0] || x == oC[1] || x == pC[0] || x == pC[1])
inline freshE() { fresh = dE + 1 }
inline freshC() { fresh = 1; do :: usedC(fresh) -> fresh++ :: else -> break od }

inline clearView(i) { vE[i] = 0; vH[i] = 0; vC[i] = 0; vM[i] = 0; chAge[i] = 0 }
inline clearLease(i) { lE[i] = 0; lC[i] = 0; baseAge[i] = 0; wAge[i] = 0; kM[i] = 0; uns[i] = 0 }
inline clearAnswer(i) { pK[i] = NONE; pOk[i] = 0; pE[i] = 0; pH[i] = 0; pC[i] = 0; pM[i] = 0; pMo[i] = 0 }
inline clearReq(i) { qK[i] = NONE; qE[i] = 0; qC[i] = 0; qM[i] = 0 }

/* the node gives up on its call: a takeover or membership change still in the network may commit later */
inline keepStale(i) {
    if
    :: qK[i] == TKO || qK[i] == MEM -> oK[i] = qK[i]; oE[i] = qE[i]; oC[i] = qC[i]; oM[i] = qM[i]
    :: else -> skip
    fi;
    clearReq(i)
}
inline send(i, kind, e, c, m) { cK[i] = kind; cAge[i] = 0; qK[i] = kind; qE[i] = e; qC[i] = c; qM[i] = m }

/* how long a standby waits: a member TIMEOUT, a node not in `members` failsafe_max + TIMEOUT */
#ifdef MUT_NONMEMBER_TIMEOUT
#define waitFor(i) TIMEOUT                         /* relaxation: a non-member takes over after timeout */
#else
#define waitFor(i) (vM[i] -> TIMEOUT : WAITMAX)
#endif
#define dueNow(i) (vH[i] != i && (vH[i] == NOBODY || chAge[i] >= waitFor(i)))

/* the failsafe set of active i: the other node if its last write listed it, or a change of it is unsettled */
#ifdef MUT_UNSETTLED_OUT
#define inSet(i) (kM[i])                           /* relaxation: the set follows the change at once */
#else
#define inSet(i) (kM[i] || uns[i])
#endif

/* fence: RENEW_DEADLINE after the base, and MAXDUR after the last successful write's start (the cap) */
#ifdef MUT_NO_CAP
#define mustFence(i) (st[i] == ACTIVE && baseAge[i] >= RENEW_DEADLINE)
#else
#define mustFence(i) (st[i] == ACTIVE && (baseAge[i] >= RENEW_DEADLINE || wAge[i] >= MAXDUR))
#endif
/* leaving the role: the rounds of this node are dead (their acks can never match a later round) */
inline retireRounds(i) { bT[i] = (bT[i] != 0 -> OLD : 0); aT[1 - i] = 0 }
#ifdef MUT_STALE_MEMBERS
/* relaxation: the node keeps the set of its last epoch while it stands by (the daemon did, until its fix) */
inline demote(i) {
    tv = lE[i]; differs = kM[i]; st[i] = DEMOTING; dropping[i] = 1; clearLease(i); lE[i] = tv; kM[i] = differs;
    retireRounds(i)
}
#else
inline demote(i) { tv = lE[i]; st[i] = DEMOTING; dropping[i] = 1; clearLease(i); lE[i] = tv; retireRounds(i) }
#endif
inline fence(i) {
    if
    :: mustFence(i) -> demote(i)
    :: else -> skip
    fi
}

inline becomeActive(i, e, c, age, m) {
    st[i] = ACTIVE; lE[i] = e; lC[i] = c; baseAge[i] = age; wAge[i] = age; kM[i] = m; uns[i] = 0;
    since[i] = MIN(age, INTERVAL); clearView(i);
    serving[i] = 1
}

/* a failsafe round of active i: the previous round's messages become older, a beat of the new one goes to
   the set; with nobody in the set it counts as acked at once */
#define older(t) (t == CUR -> PREV : (t == PREV -> OLD : t))
inline startRound(i) {
    bT[i] = older(bT[i]);
    aT[1 - i] = older(aT[1 - i]);
    if
    :: inSet(i) -> bE[i] = lE[i]; bT[i] = CUR
    :: else -> baseAge[i] = 0
    fi
}
/* on waking: the overdue round starts now; every older round is dead */
inline wakeRound(i) {
    bT[i] = (bT[i] != 0 -> OLD : 0);
    aT[1 - i] = (aT[1 - i] == NO -> NO : 0);
    startRound(i)
}

inline nextCalls(i) {
    if
    :: cK[i] != NONE -> skip
    :: cK[i] == NONE && st[i] == STARTING -> send(i, OBS, 0, 0, 0)
    :: cK[i] == NONE && st[i] == STANDBY && dueNow(i) -> st[i] = CLAIMING; send(i, TKO, vE[i], vC[i], 0)
    :: cK[i] == NONE && st[i] == STANDBY && !dueNow(i) && since[i] >= INTERVAL -> send(i, OBS, 0, 0, 0)
    :: cK[i] == NONE && st[i] == CLAIMING -> send(i, TKO, vE[i], vC[i], 0)
    :: cK[i] == NONE && st[i] == CONFIRMING && since[i] >= INTERVAL -> send(i, REN, lE[i], 0, 0)
    :: cK[i] == NONE && st[i] == ACTIVE && since[i] >= INTERVAL -> send(i, REN, lE[i], 0, 0)
    :: else -> skip
    fi
}

/* a call's result; answered = 0: it failed (lost, or past its deadline) */
inline handleResult(i, answered) {
    kv = cK[i]; av = cAge[i];
    cK[i] = NONE; cAge[i] = 0; clearReq(i);
    since[i] = MIN(av, INTERVAL);
    if
    :: (st[i] == STARTING || st[i] == STANDBY) && kv == OBS && answered ->
        differs = (st[i] == STARTING || vE[i] != pE[i] || vC[i] != pC[i] || vH[i] != pH[i] || vM[i] != pM[i]);
        vE[i] = pE[i]; vH[i] = pH[i]; vC[i] = pC[i]; vM[i] = pM[i];
        st[i] = STANDBY;
        chAge[i] = (differs -> 0 : chAge[i]);
        if   /* named: confirm with a renew before serving (rule 6) */
        :: vH[i] == i -> tv = vE[i]; clearView(i); st[i] = CONFIRMING; lE[i] = tv; since[i] = INTERVAL
        :: else -> skip
        fi
    :: st[i] == CONFIRMING && kv == REN && answered && pOk[i] -> becomeActive(i, lE[i], pC[i], av, pMo[i])
    :: st[i] == CONFIRMING && kv == REN && answered && !pOk[i] -> st[i] = STARTING; lE[i] = 0; since[i] = INTERVAL
#ifdef MUT_STALE_MEMBERS
    /* relaxation: a new epoch's set is the one kept from the node's last epoch, not the takeover's answer */
    :: st[i] == CLAIMING && kv == TKO && answered && pOk[i] -> becomeActive(i, pE[i], pC[i], av, kM[i])
#else
    :: st[i] == CLAIMING && kv == TKO && answered && pOk[i] -> becomeActive(i, pE[i], pC[i], av, pMo[i])
#endif
    :: st[i] == CLAIMING && kv == TKO && !(answered && pOk[i]) -> st[i] = STANDBY
    :: st[i] == ACTIVE && (kv == REN || kv == MEM) && answered && pOk[i] ->
        /* a successful write: the base and the cap count from its start; it moved the counter, so no
           membership change is left unsettled */
        lC[i] = pC[i]; baseAge[i] = MIN(baseAge[i], av); wAge[i] = MIN(wAge[i], av); kM[i] = pMo[i]; uns[i] = 0
    :: st[i] == ACTIVE && kv == REN && answered && !pOk[i] -> demote(i)   /* deposed */
    :: st[i] == ACTIVE && kv == MEM && answered && !pOk[i] -> uns[i] = 0   /* it matched no row: settled, not done */
    /* a membership change that failed at its deadline may still commit: it stays unsettled */
    :: else -> skip
    fi;
    clearAnswer(i)
}

inline callFailed(i) { keepStale(i); clearAnswer(i); handleResult(i, 0) }

inline ageUp(i) {
    /* saturates at the node's wait (a change of membership is a change of the value: it resets chAge) */
    chAge[i] = ((st[i] == STANDBY || st[i] == CLAIMING) -> MIN(chAge[i] + 1, waitFor(i)) : 0);
    baseAge[i] = (st[i] == ACTIVE -> MIN(baseAge[i] + 1, RENEW_DEADLINE) : 0);
    wAge[i] = (st[i] == ACTIVE -> MIN(wAge[i] + 1, MAXDUR) : 0);
    cAge[i] = (cK[i] != NONE -> MIN(cAge[i] + 1, CALLDL) : 0);
    since[i] = MIN(since[i] + 1, INTERVAL)
}

inline dropped(i) {
    serving[i] = 0; dropping[i] = 0; tail[i] = 0;
    if :: st[i] == DEMOTING -> st[i] = STARTING; lE[i] = 0 :: else -> skip fi
}

inline ltick(i) {
    if
    :: st[i] == DOWN -> if :: dropping[i] -> serving[i] = 0; dropping[i] = 0; tail[i] = 0 :: else -> skip fi
    :: st[i] != DOWN && frozen[i] -> ageUp(i)
    :: st[i] != DOWN && !frozen[i] ->
        if :: dropping[i] -> dropped(i) :: else -> skip fi;
        ageUp(i);
        if :: cK[i] != NONE && cAge[i] >= CALLDL -> callFailed(i) :: else -> skip fi;
        fence(i);
        if :: st[i] == ACTIVE -> startRound(i) :: else -> skip fi;
        nextCalls(i)
    fi
}

inline dbApply(i, kind, e, c, m, reply) {
    ok = 0;
    if
    :: kind == OBS -> dReg[i] = 1; ok = 1
    :: kind == REN && dE == e && dH == i -> freshC(); dC = fresh; ok = 1
    :: kind == TKO && dE == e && dC == c -> freshE(); dE = fresh; freshC(); dC = fresh; dH = i; dM[1 - i] = dReg[1 - i]; ok = 1
#if defined(MUT_MEMBERS_NO_COUNTER)
    :: kind == MEM && dE == e && dH == i -> freshC(); dC = fresh; dM[1 - i] = m; ok = 1   /* relaxation: no counter check */
#elif defined(MUT_MEMBERS_NO_MOVE)
    :: kind == MEM && dE == e && dH == i && dC == c -> dM[1 - i] = m; ok = 1             /* relaxation: the counter stays */
#else
    :: kind == MEM && dE == e && dH == i && dC == c -> freshC(); dC = fresh; dM[1 - i] = m; ok = 1
#endif
    :: else -> skip
    fi;
    if
    :: reply ->
        pK[i] = kind; pOk[i] = ok;
        if
        :: kind == OBS -> pE[i] = dE; pH[i] = dH; pC[i] = dC; pM[i] = dM[i]
        :: kind != OBS && ok -> pE[i] = dE; pC[i] = dC; pMo[i] = dM[1 - i]
        :: else -> skip
        fi
    :: else -> skip
    fi
}

inline deliver(i) { fence(i); handleResult(i, 1); nextCalls(i) }

/* a beat from node s arrives at node r = 1 - s */
#ifdef MUT_BEAT_NO_RESTART
#define restartTimer(r) skip                       /* relaxation: the beat does not restart the timer */
#else
#define restartTimer(r) chAge[r] = 0
#endif
/* r answers "no" naming epoch x: it fences s if s is active in an older epoch (else it changes nothing) */
#ifdef EXP_NO_IGNORED
inline answerNo(s, r, x) { aT[r] = 0 }              /* experiment: a "no" changes nothing */
#else
inline answerNo(s, r, x) { aT[r] = ((st[s] == ACTIVE && x > lE[s]) -> NO : 0) }
#endif
inline beatArrives(s, r) {
    fence(r);
    if
#ifndef EXP_BEAT_ANY
    :: (st[r] == STANDBY || st[r] == CLAIMING) && bE[s] < vE[r] -> answerNo(s, r, vE[r])
    :: (st[r] == STANDBY || st[r] == CLAIMING) && bE[s] == vE[r] && vH[r] != s -> skip   /* refused */
#endif
    :: st[r] == STARTING || st[r] == STANDBY || st[r] == CLAIMING ->
        restartTimer(r); aT[r] = bT[s]          /* the ack carries the round */
    :: st[r] == CONFIRMING || st[r] == ACTIVE || st[r] == DEMOTING -> answerNo(s, r, lE[r])
    :: else -> skip
    fi;
    bE[s] = 0; bT[s] = 0;
    nextCalls(r)
}
/* the answer to a beat from node s arrives at the active r */
inline ackArrives(s, r) {
    fence(r);
    if
    :: st[r] == ACTIVE && aT[s] == NO -> demote(r)
#if defined(MUT_EXTEND_FROM_ACK)
    :: st[r] == ACTIVE && (aT[s] == CUR || aT[s] == PREV) -> baseAge[r] = 0   /* relaxation: from the ack's arrival */
#elif defined(MUT_ACK_ANY_ROUND)
    :: st[r] == ACTIVE && aT[s] != 0 -> baseAge[r] = 0   /* relaxation: any ack counts for the current round */
#else
    :: st[r] == ACTIVE && aT[s] == CUR -> baseAge[r] = 0
    :: st[r] == ACTIVE && aT[s] == PREV -> baseAge[r] = MIN(baseAge[r], 1)
#endif
    :: else -> skip
    fi;
    aT[s] = 0;
    nextCalls(r)
}

inline crash(i) {
    keepStale(i); clearAnswer(i); cK[i] = NONE; cAge[i] = 0;
    tail[i] = tail[i] || (frozen[i] && serving[i]);
    if :: st[i] == ACTIVE -> retireRounds(i) :: else -> skip fi;
    frozen[i] = 0; st[i] = DOWN; clearView(i); clearLease(i); since[i] = 0;
    dropping[i] = serving[i]
}
inline wake(i) {
    frozen[i] = 0;
    if :: cK[i] != NONE && cAge[i] >= CALLDL -> callFailed(i) :: else -> skip fi;
    fence(i);
    tail[i] = serving[i] && dropping[i];
    if :: st[i] == ACTIVE -> wakeRound(i) :: else -> skip fi;
    nextCalls(i)
}

/* the active i changes the other node's membership (at most one unsettled change: it is the call) */
inline changeMembers(i) {
    memch++; fence(i);
    if
    :: st[i] == ACTIVE -> uns[i] = 1; tv = !kM[i];
#ifdef MUT_UNSETTLED_OUT
        kM[i] = tv;
#endif
        send(i, MEM, lE[i], lC[i], tv)
    :: else -> skip
    fi
}

init {
    run world()
}

proctype world() {
    do
    :: d_step { ltick(0); ltick(1); check("tick") }
    :: d_step { rel < DRIFT -> rel++; ltick(0); check("tick0") }
    :: d_step { rel > 0 -> rel--; ltick(1); check("tick1") }
    :: d_step { qK[0] != NONE -> tv = qK[0]; qK[0] = NONE; dbApply(0, tv, qE[0], qC[0], qM[0], 1); clearReq(0); check("db<-0") }
    :: d_step { qK[1] != NONE -> tv = qK[1]; qK[1] = NONE; dbApply(1, tv, qE[1], qC[1], qM[1], 1); clearReq(1); check("db<-1") }
    :: d_step { oK[0] != NONE -> dbApply(0, oK[0], oE[0], oC[0], oM[0], 0); oK[0] = NONE; oE[0] = 0; oC[0] = 0; oM[0] = 0; check("db<-0late") }
    :: d_step { oK[1] != NONE -> dbApply(1, oK[1], oE[1], oC[1], oM[1], 0); oK[1] = NONE; oE[1] = 0; oC[1] = 0; oM[1] = 0; check("db<-1late") }
    :: d_step { pK[0] != NONE && cK[0] != NONE && !frozen[0] && st[0] != DOWN -> deliver(0); check("ans->0") }
    :: d_step { pK[1] != NONE && cK[1] != NONE && !frozen[1] && st[1] != DOWN -> deliver(1); check("ans->1") }
    :: d_step { bT[0] != 0 && !frozen[1] && st[1] != DOWN -> beatArrives(0, 1); check("beat0->1") }
    :: d_step { bT[1] != 0 && !frozen[0] && st[0] != DOWN -> beatArrives(1, 0); check("beat1->0") }
    :: d_step { aT[0] != 0 && !frozen[1] && st[1] != DOWN -> ackArrives(0, 1); check("ack0->1") }
    :: d_step { aT[1] != 0 && !frozen[0] && st[0] != DOWN -> ackArrives(1, 0); check("ack1->0") }
    :: d_step { dropping[0] && !frozen[0] -> dropped(0); nextCalls(0); check("dropped0") }
    :: d_step { dropping[1] && !frozen[1] -> dropped(1); nextCalls(1); check("dropped1") }
    :: d_step { st[0] == DOWN && !serving[0] -> st[0] = STARTING; since[0] = INTERVAL; nextCalls(0); check("restart0") }
    :: d_step { st[1] == DOWN && !serving[1] -> st[1] = STARTING; since[1] = INTERVAL; nextCalls(1); check("restart1") }
    /* loss on every link */
    :: d_step { qK[0] != NONE -> clearReq(0); check("lost q0") }
    :: d_step { qK[1] != NONE -> clearReq(1); check("lost q1") }
    :: d_step { oK[0] != NONE -> oK[0] = NONE; oE[0] = 0; oC[0] = 0; oM[0] = 0; check("lost late0") }
    :: d_step { oK[1] != NONE -> oK[1] = NONE; oE[1] = 0; oC[1] = 0; oM[1] = 0; check("lost late1") }
    :: d_step { pK[0] != NONE -> clearAnswer(0); check("lost p0") }
    :: d_step { pK[1] != NONE -> clearAnswer(1); check("lost p1") }
    :: d_step { bT[0] != 0 -> bE[0] = 0; bT[0] = 0; check("lost beat0") }
    :: d_step { bT[1] != 0 -> bE[1] = 0; bT[1] = 0; check("lost beat1") }
    :: d_step { aT[0] != 0 -> aT[0] = 0; check("lost ack0") }
    :: d_step { aT[1] != 0 -> aT[1] = 0; check("lost ack1") }
    /* faults */
    :: d_step { faults < FAULTS && st[0] != DOWN -> faults++; crash(0); check("crash0") }
    :: d_step { faults < FAULTS && st[1] != DOWN -> faults++; crash(1); check("crash1") }
    :: d_step { faults < FAULTS && !frozen[0] && st[0] != DOWN -> faults++; frozen[0] = 1; check("SIGSTOP0") }
    :: d_step { faults < FAULTS && !frozen[1] && st[1] != DOWN -> faults++; frozen[1] = 1; check("SIGSTOP1") }
    :: d_step { frozen[0] -> wake(0); check("SIGCONT0") }
    :: d_step { frozen[1] -> wake(1); check("SIGCONT1") }
    /* membership changes */
    :: d_step { memch < MEMCH && st[0] == ACTIVE && !frozen[0] && cK[0] == NONE && !uns[0] -> changeMembers(0); check("members0") }
    :: d_step { memch < MEMCH && st[1] == ACTIVE && !frozen[1] && cK[1] == NONE && !uns[1] -> changeMembers(1); check("members1") }
    od
}
