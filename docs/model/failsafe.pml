/*
 * failsafe.pml: the failsafe rules (issue 18 groundwork) for spin.  See docs/model/README.md, section
 * "failsafe.pml".  Written from the rules in the issue, before the Swift code: the lease part is a
 * reduced copy of hotstandby.pml (renew fenced by epoch and holder, takeover compare-and-set on the seen
 * epoch and counter, one call at a time with a deadline, requests that commit after their sender gave up);
 * what is new is the failsafe.
 *
 *   - The active whose renews fail runs failsafe rounds: every INTERVAL a round with a fresh id; a beat
 *     (epoch, round) goes to every member of its failsafe set.  The model runs rounds every interval
 *     whether or not the renews fail (with renewDeadline = 2 ticks a round begun after a failed renew
 *     could never be acked in time); that is a superset: a beat only restarts timers, and an extension
 *     counts from a fully acked round however it began.  The current and the previous round are kept.
 *   - A standby that receives a beat of the lease it watches restarts its takeover timer at the beat's
 *     arrival and acks with the round id.
 *   - The active's fence deadline may then count from the START of a round all of whose set members acked
 *     (instead of the start of its last successful renew), but never past MAXDUR after the start of its
 *     last successful database write (the cap).
 *   - A standby that is a member waits TIMEOUT (since the lease value changed or a beat arrived); one that
 *     is not in `members` waits MAXDUR + TIMEOUT.
 *   - Membership: `members` is in the lease row; a change is a write checked like a hand-off (epoch = mine,
 *     holder = me, counter = last renewed) that moves the counter; at most one is unsettled (issued, not
 *     yet answered, or failed at its deadline and possibly still to commit until a renew moves the counter),
 *     and while it is unsettled the node it concerns is in the failsafe set.
 *
 * Two nodes, crashes (FAULTS), SIGSTOP/SIGCONT, requests, answers, beats and acks lost or delayed on each
 * link, late commits, one tick of drift.  Safety: never two nodes serving while both run.
 *
 * STATUS (see docs/model/README.md): groundwork.  Each relaxation but MUT_UNSETTLED_OUT is a violation at
 * RENEW_DEADLINE=3; the search of the rules themselves has not completed (57 M states in 8 GB, no error).
 */

#ifndef INTERVAL
#define INTERVAL 1
#endif
#ifndef TIMEOUT
#define TIMEOUT 5
#endif
#ifndef RENEW_DEADLINE
#define RENEW_DEADLINE 2
#endif
#ifndef MAXDUR
#define MAXDUR 5            /* the cap: serving at most this long after the start of the last successful write */
#endif
#ifndef DRIFT
#define DRIFT 1
#endif
#ifndef CALLDL
#define CALLDL 2
#endif
#ifndef FAULTS
#define FAULTS 1            /* crashes and SIGSTOPs per run */
#endif
#ifndef MEMCH
#define MEMCH 1             /* membership changes per run */
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

#define MIN(x, y) ((x) < (y) -> (x) : (y))
#define WAITMAX (MAXDUR + TIMEOUT)

/* the database: lease row with the failsafe set (dM[j]: node j is a member) */
byte dE; byte dH = NOBODY; byte dC;
bit  dM[2];

/* nodes */
byte st[2];
bit  serving[2]; bit frozen[2]; bit tail[2]; bit dropping[2];
/* standby: the last read, whether it names this node a member, ticks since the value changed or a beat came */
byte vE[2]; byte vH[2]; byte vC[2]; bit vM[2];
byte chAge[2];
/* active: lease epoch and last renewed counter; ticks since the deadline's base and since the start of the
   last successful write; what it knows of the other's membership, an unsettled change, failsafe mode;
   the current round: id, ticks since its start, since the last round started */
byte lE[2]; byte lC[2];
byte baseAge[2]; byte wAge[2];
bit  kM[2]; bit uns[2];
byte rid[2]; byte rdAge[2];
byte prid[2]; byte pdAge[2];   /* the previous round: its acks still count, from its own start */
/* one call at a time */
byte cK[2]; byte cAge[2]; byte since[2];
byte qK[2]; byte qE[2]; byte qC[2]; bit qM[2];
byte pK[2]; bit pOk[2]; byte pE[2]; byte pH[2]; byte pC[2]; bit pM[2]; bit pMo[2];
byte oK[2]; byte oE[2]; byte oC[2]; bit oM[2];
/* links between the nodes: a beat from node i (epoch, round) and an ack from node i (round) */
byte bE[2]; byte bR[2];
byte aR[2];
byte rel;
byte faults; byte memch;

hidden byte kv, av, fresh, ok, tv, differs;

#define running(i) (!frozen[i] && !tail[i])
#define twoServing (serving[0] && serving[1] && running(0) && running(1))

c_code {
    static void fsRename(uchar *refs[], int n) {
        uchar map[256]; uchar next = 1; int j;
        memset(map, 0, sizeof(map));
        for (j = 0; j < n; j++) {
            uchar v = *refs[j];
            if (v == 0) continue;
            if (map[v] == 0) map[v] = next++;
            *refs[j] = map[v];
        }
    }
    static void fsNormalize(void) {
        uchar *e[11] = { &now.dE, &now.vE[0], &now.vE[1], &now.lE[0], &now.lE[1], &now.qE[0], &now.qE[1],
                         &now.oE[0], &now.oE[1], &now.pE[0], &now.pE[1] };
        uchar *c[11] = { &now.dC, &now.vC[0], &now.vC[1], &now.lC[0], &now.lC[1], &now.qC[0], &now.qC[1],
                         &now.oC[0], &now.oC[1], &now.pC[0], &now.pC[1] };
        uchar *ra[8] = { &now.rid[0], &now.rid[1], &now.prid[0], &now.prid[1], &now.bR[0], &now.bR[1], &now.aR[0], &now.aR[1] };
        uchar *be[13] = { &now.dE, &now.vE[0], &now.vE[1], &now.lE[0], &now.lE[1], &now.qE[0], &now.qE[1],
                          &now.oE[0], &now.oE[1], &now.pE[0], &now.pE[1], &now.bE[0], &now.bE[1] };
        (void) e;
        fsRename(be, 13);
        fsRename(c, 11);
        fsRename(ra, 8);
    }
}

inline showState() {
    printf(" | n0 st=%d srv=%d frz=%d base=%d w=%d kM=%d uns=%d rid=%d rd=%d chAge=%d view=(e%d h%d c%d m%d) call=%d q=%d p=%d stale=%d beat=(e%d r%d) ack=%d",
           st[0], serving[0], frozen[0], baseAge[0], wAge[0], kM[0], uns[0], rid[0], rdAge[0], chAge[0], vE[0], vH[0], vC[0], vM[0], cK[0], qK[0], pK[0], oK[0], bE[0], bR[0], aR[0]);
    printf(" | n1 st=%d srv=%d frz=%d base=%d w=%d kM=%d uns=%d rid=%d rd=%d chAge=%d view=(e%d h%d c%d m%d) call=%d q=%d p=%d stale=%d beat=(e%d r%d) ack=%d",
           st[1], serving[1], frozen[1], baseAge[1], wAge[1], kM[1], uns[1], rid[1], rdAge[1], chAge[1], vE[1], vH[1], vC[1], vM[1], cK[1], qK[1], pK[1], oK[1], bE[1], bR[1], aR[1]);
    printf(" | db e%d h%d c%d m%d%d | rel=%d\n", dE, dH, dC, dM[0], dM[1], rel)
}
#define check(label) c_code { fsNormalize(); }; printf(label); showState(); assert(!twoServing)

#define usedE(x) (x == dE || x == vE[0] || x == vE[1] || x == lE[0] || x == lE[1] || x == qE[0] || x == qE[1] || \
                  x == oE[0] || x == oE[1] || x == pE[0] || x == pE[1] || x == bE[0] || x == bE[1])
#define usedC(x) (x == dC || x == vC[0] || x == vC[1] || x == lC[0] || x == lC[1] || x == qC[0] || x == qC[1] || \
                  x == oC[0] || x == oC[1] || x == pC[0] || x == pC[1])
#define usedR(x) (x == rid[0] || x == rid[1] || x == prid[0] || x == prid[1] || x == bR[0] || x == bR[1] || x == aR[0] || x == aR[1])
inline freshE() { fresh = 1; do :: usedE(fresh) -> fresh++ :: else -> break od }
inline freshC() { fresh = 1; do :: usedC(fresh) -> fresh++ :: else -> break od }
inline freshR() { fresh = 1; do :: usedR(fresh) -> fresh++ :: else -> break od }

inline clearView(i) { vE[i] = 0; vH[i] = 0; vC[i] = 0; vM[i] = 0; chAge[i] = 0 }
inline clearLease(i) { lE[i] = 0; lC[i] = 0; baseAge[i] = 0; wAge[i] = 0; kM[i] = 0; uns[i] = 0; rid[i] = 0; rdAge[i] = 0; prid[i] = 0; pdAge[i] = 0 }
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

/* how long a standby waits: a member TIMEOUT, a node not in `members` MAXDUR + TIMEOUT */
#ifdef MUT_NONMEMBER_TIMEOUT
#define waitFor(i) TIMEOUT                         /* relaxation: a non-member takes over after timeout */
#else
#define waitFor(i) (vM[i] -> TIMEOUT : WAITMAX)
#endif
#define dueNow(i) (vH[i] != i && (vH[i] == NOBODY || chAge[i] >= waitFor(i)))

/* the failsafe set of active i: the other node if it is a member, or its membership change is unsettled */
#ifdef MUT_UNSETTLED_OUT
#define inSet(i) (kM[i])                           /* relaxation: the set follows the change at once */
#else
#define inSet(i) (kM[i] || uns[i])
#endif

/* fence: RENEW_DEADLINE after the deadline's base, and never MAXDUR after the last write's start */
#ifdef MUT_NO_CAP
#define mustFence(i) (st[i] == ACTIVE && baseAge[i] >= RENEW_DEADLINE)
#else
#define mustFence(i) (st[i] == ACTIVE && (baseAge[i] >= RENEW_DEADLINE || wAge[i] >= MAXDUR))
#endif
inline fence(i) {
    if
    :: mustFence(i) -> st[i] = DEMOTING; dropping[i] = 1; clearLease(i)
    :: else -> skip
    fi
}

inline becomeActive(i, e, c, age, m) {
    st[i] = ACTIVE; lE[i] = e; lC[i] = c; baseAge[i] = age; wAge[i] = age; kM[i] = m; uns[i] = 0;
    rid[i] = 0; rdAge[i] = 0; prid[i] = 0; pdAge[i] = 0; since[i] = MIN(age, INTERVAL); clearView(i);
    serving[i] = 1
}

/* a failsafe round: a fresh id; a beat to the set; with nobody in the set it is complete at once */
inline startRound(i) {
    prid[i] = rid[i]; pdAge[i] = rdAge[i];
    freshR(); rid[i] = fresh; rdAge[i] = 0;
    if
    :: inSet(i) -> bE[i] = lE[i]; bR[i] = rid[i]
    :: else -> baseAge[i] = 0     /* all (none) acked: the deadline counts from this round's start */
    fi
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
    :: st[i] == CLAIMING && kv == TKO && answered && pOk[i] -> becomeActive(i, pE[i], pC[i], av, pMo[i])
    :: st[i] == CLAIMING && kv == TKO && !(answered && pOk[i]) -> st[i] = STANDBY
    :: st[i] == ACTIVE && kv == REN && answered && pOk[i] ->
        lC[i] = pC[i]; baseAge[i] = MIN(baseAge[i], av); wAge[i] = MIN(wAge[i], av);
        kM[i] = pMo[i]; uns[i] = 0                 /* the counter moved: no change of membership is left unsettled */
    :: st[i] == ACTIVE && kv == REN && answered && !pOk[i] -> st[i] = DEMOTING; dropping[i] = 1; clearLease(i)   /* deposed */
    :: st[i] == ACTIVE && kv == MEM && answered && pOk[i] ->
        lC[i] = pC[i]; baseAge[i] = MIN(baseAge[i], av); wAge[i] = MIN(wAge[i], av); kM[i] = pMo[i]; uns[i] = 0
    :: st[i] == ACTIVE && kv == MEM && answered && !pOk[i] -> uns[i] = 0   /* it matched no row: settled, not done */
    /* a membership change that failed at its deadline may still commit: it stays unsettled */
    :: else -> skip
    fi;
    clearAnswer(i)
}

inline callFailed(i) { keepStale(i); clearAnswer(i); handleResult(i, 0) }

inline ageUp(i) {
    /* saturates at the node's wait (a change of membership is a change of the value: it resets chAge) */
    chAge[i] = ((st[i] == STANDBY || st[i] == CLAIMING) -> MIN(chAge[i] + 1, waitFor(i)) : chAge[i]);
    baseAge[i] = (st[i] == ACTIVE -> MIN(baseAge[i] + 1, RENEW_DEADLINE) : 0);
    wAge[i] = (st[i] == ACTIVE -> MIN(wAge[i] + 1, MAXDUR) : 0);
    rdAge[i] = ((st[i] == ACTIVE && rid[i] != 0) -> MIN(rdAge[i] + 1, RENEW_DEADLINE) : 0);
    pdAge[i] = ((st[i] == ACTIVE && prid[i] != 0) -> MIN(pdAge[i] + 1, RENEW_DEADLINE) : 0);
    cAge[i] = (cK[i] != NONE -> MIN(cAge[i] + 1, CALLDL) : 0);
    since[i] = MIN(since[i] + 1, INTERVAL)
}

inline ltick(i) {
    if
    :: st[i] == DOWN -> if :: dropping[i] -> serving[i] = 0; dropping[i] = 0; tail[i] = 0 :: else -> skip fi
    :: st[i] != DOWN && frozen[i] -> ageUp(i)
    :: st[i] != DOWN && !frozen[i] ->
        if
        :: dropping[i] -> serving[i] = 0; dropping[i] = 0; tail[i] = 0;
            if :: st[i] == DEMOTING -> st[i] = STARTING :: else -> skip fi
        :: else -> skip
        fi;
        ageUp(i);
        if :: cK[i] != NONE && cAge[i] >= CALLDL -> callFailed(i) :: else -> skip fi;
        fence(i);
        if   /* the next failsafe round is due */
        :: st[i] == ACTIVE && (rid[i] == 0 || rdAge[i] >= INTERVAL) -> startRound(i)
        :: else -> skip
        fi;
        nextCalls(i)
    fi
}

inline dbApply(i, kind, e, c, m, reply) {
    ok = 0;
    if
    :: kind == OBS -> ok = 1
    :: kind == REN && dE == e && dH == i -> freshC(); dC = fresh; ok = 1
    :: kind == TKO && dE == e && dC == c -> freshE(); dE = fresh; freshC(); dC = fresh; dH = i; ok = 1
#ifdef MUT_MEMBERS_NO_COUNTER
    :: kind == MEM && dE == e && dH == i -> freshC(); dC = fresh; dM[1 - i] = m; ok = 1
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
inline beatArrives(s, r) {
    fence(r);
    if
    :: st[r] == STANDBY && bE[s] == vE[r] && vH[r] == s ->
        restartTimer(r); aR[r] = bR[s]          /* the ack carries the round id */
    :: else -> skip
    fi;
    bE[s] = 0; bR[s] = 0;
    nextCalls(r)
}
/* an ack from node s arrives at the active r */
inline ackArrives(s, r) {
    fence(r);
    if
#if defined(MUT_EXTEND_FROM_ACK)
    :: st[r] == ACTIVE && aR[s] != 0 && (aR[s] == rid[r] || aR[s] == prid[r]) -> baseAge[r] = 0   /* relaxation: from the ack's arrival */
#elif defined(MUT_ACK_ANY_ROUND)
    :: st[r] == ACTIVE && rid[r] != 0 -> baseAge[r] = MIN(baseAge[r], rdAge[r])  /* relaxation: any ack counts for the newest round */
#else
    :: st[r] == ACTIVE && aR[s] != 0 && aR[s] == rid[r] -> baseAge[r] = MIN(baseAge[r], rdAge[r])
    :: st[r] == ACTIVE && aR[s] != 0 && aR[s] == prid[r] -> baseAge[r] = MIN(baseAge[r], pdAge[r])
#endif
    :: else -> skip
    fi;
    aR[s] = 0;
    nextCalls(r)
}

inline crash(i) {
    keepStale(i); clearAnswer(i); cK[i] = NONE; cAge[i] = 0;
    tail[i] = tail[i] || (frozen[i] && serving[i]);
    frozen[i] = 0; st[i] = DOWN; clearView(i); clearLease(i); since[i] = 0;
    dropping[i] = serving[i]
}
inline wake(i) {
    frozen[i] = 0;
    if :: cK[i] != NONE && cAge[i] >= CALLDL -> callFailed(i) :: else -> skip fi;
    fence(i);
    tail[i] = serving[i] && dropping[i];
    nextCalls(i)
}

init {
    /* who is in the failsafe set at the start */
    if :: dM[0] = 0 :: dM[0] = 1 fi;
    if :: dM[1] = 0 :: dM[1] = 1 fi;
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
    :: d_step { bR[0] != 0 && !frozen[1] && st[1] != DOWN -> beatArrives(0, 1); check("beat0->1") }
    :: d_step { bR[1] != 0 && !frozen[0] && st[0] != DOWN -> beatArrives(1, 0); check("beat1->0") }
    :: d_step { aR[0] != 0 && !frozen[1] && st[1] != DOWN -> ackArrives(0, 1); check("ack0->1") }
    :: d_step { aR[1] != 0 && !frozen[0] && st[0] != DOWN -> ackArrives(1, 0); check("ack1->0") }
    :: d_step { dropping[0] && !frozen[0] -> serving[0] = 0; dropping[0] = 0; tail[0] = 0;
                if :: st[0] == DEMOTING -> st[0] = STARTING; nextCalls(0) :: else -> skip fi; check("dropped0") }
    :: d_step { dropping[1] && !frozen[1] -> serving[1] = 0; dropping[1] = 0; tail[1] = 0;
                if :: st[1] == DEMOTING -> st[1] = STARTING; nextCalls(1) :: else -> skip fi; check("dropped1") }
    :: d_step { st[0] == DOWN && !serving[0] -> st[0] = STARTING; since[0] = INTERVAL; nextCalls(0); check("restart0") }
    :: d_step { st[1] == DOWN && !serving[1] -> st[1] = STARTING; since[1] = INTERVAL; nextCalls(1); check("restart1") }
    /* loss on every link */
    :: d_step { qK[0] != NONE -> clearReq(0); check("lost q0") }
    :: d_step { qK[1] != NONE -> clearReq(1); check("lost q1") }
    :: d_step { oK[0] != NONE -> oK[0] = NONE; oE[0] = 0; oC[0] = 0; oM[0] = 0; check("lost late0") }
    :: d_step { oK[1] != NONE -> oK[1] = NONE; oE[1] = 0; oC[1] = 0; oM[1] = 0; check("lost late1") }
    :: d_step { pK[0] != NONE -> clearAnswer(0); check("lost p0") }
    :: d_step { pK[1] != NONE -> clearAnswer(1); check("lost p1") }
    :: d_step { bR[0] != 0 -> bE[0] = 0; bR[0] = 0; check("lost beat0") }
    :: d_step { bR[1] != 0 -> bE[1] = 0; bR[1] = 0; check("lost beat1") }
    :: d_step { aR[0] != 0 -> aR[0] = 0; check("lost ack0") }
    :: d_step { aR[1] != 0 -> aR[1] = 0; check("lost ack1") }
    /* faults */
    :: d_step { faults < FAULTS && st[0] != DOWN -> faults++; crash(0); check("crash0") }
    :: d_step { faults < FAULTS && st[1] != DOWN -> faults++; crash(1); check("crash1") }
    :: d_step { faults < FAULTS && !frozen[0] && st[0] != DOWN -> faults++; frozen[0] = 1; check("SIGSTOP0") }
    :: d_step { faults < FAULTS && !frozen[1] && st[1] != DOWN -> faults++; frozen[1] = 1; check("SIGSTOP1") }
    :: d_step { frozen[0] -> wake(0); check("SIGCONT0") }
    :: d_step { frozen[1] -> wake(1); check("SIGCONT1") }
    /* the active changes the other node's membership (at most one unsettled change: it is the call) */
    :: d_step { memch < MEMCH && st[0] == ACTIVE && !frozen[0] && cK[0] == NONE && !uns[0] -> memch++; fence(0);
                if :: st[0] == ACTIVE -> uns[0] = 1; tv = !kM[0];
#ifdef MUT_UNSETTLED_OUT
                      kM[0] = tv;
#endif
                      send(0, MEM, lE[0], lC[0], tv) :: else -> skip fi; check("members0") }
    :: d_step { memch < MEMCH && st[1] == ACTIVE && !frozen[1] && cK[1] == NONE && !uns[1] -> memch++; fence(1);
                if :: st[1] == ACTIVE -> uns[1] = 1; tv = !kM[1];
#ifdef MUT_UNSETTLED_OUT
                      kM[1] = tv;
#endif
                      send(1, MEM, lE[1], lC[1], tv) :: else -> skip fi; check("members1") }
    od
}
