/*
 * hotstandby.pml: the hot-standby lease protocol, as Sources/FailoverController/FailoverStateMachine.swift
 * implements it, for spin.  See docs/model/README.md (what is modelled, what is abstracted away, how to
 * run it) and docs/protocol.md (the rules and the safety argument).
 *
 * Two nodes (0 and 1) and the database (the lease row).  One process; every event is one atomic step:
 *   - a global clock tick, and single-node ticks for bounded drift between the nodes' clocks;
 *   - the database applying a request (the node's current call, or a stale request from a call the node
 *     gave up on), or the network losing a request or an answer; an answer arriving;
 *   - crash (kill -9 / host death) and restart; SIGSTOP and SIGCONT; SIGTERM (graceful stop and release);
 *   - the operator: pause, resume, switchover (writes handover_to);
 *   - issue 15, the role follows the service: the active's service fails (or its promotion cannot bind the
 *     address); it steps down (demote, then the counter-checked hand-off) only when its last successful
 *     renew reported the other node as an eligible standby, and is then in hold-down for HOLD ticks; a
 *     node's eligible flag may be cleared (a broken setup) and set again.  A node that is not eligible
 *     never claims.  The active learns the other's eligibility from the other's row, read at the commit
 *     of its renew; the row is what the other's last read wrote.
 *
 * Time is in ticks (think 1 tick = 1 interval).  A node never reads a global clock: it keeps ages
 * ("ticks since ...") on its own clock, which is what the Swift code does with its monotonic instants.
 *
 * Safety (always checked): never two nodes serving while both are running.  A node that is SIGSTOPped
 * is not running; nor is one that woke from a pause holding the address and is now dropping it (the
 * "wake tail", at most DEMOTE ticks): DESIGN.md's promise for a paused process is an overlap no longer
 * than the time until it runs again plus the address removal.
 *
 * No ping-pong (-DPINGPONG): both services fail whenever they run; a node does not step down within HOLD
 * ticks (of the other node's clock) of the other's step-down.
 *
 * Liveness (-DLIVENESS): at a moment of its choosing the environment settles: the lease holder crashes
 * and stays down, the database and network become reliable (no loss; answers before the next tick),
 * no more pauses, crashes or operator actions; then the other node must be active and serving within
 * LIVE_H global ticks (a bounded-horizon assertion).
 */

/* ---- parameters (override with spin -DNAME=value) ---- */
#ifndef INTERVAL
#define INTERVAL 1          /* renew / read period */
#endif
#ifndef TIMEOUT
#define TIMEOUT 5           /* standby: takeover after the lease has not changed this long */
#endif
#ifndef RENEW_DEADLINE
#define RENEW_DEADLINE 2    /* active: self-fence this long after the START of the last successful renew (default formula: TIMEOUT - 3*INTERVAL) */
#endif
#ifndef DEMOTE
#define DEMOTE 0            /* the address is gone before the (DEMOTE+1)-th tick after a demotion starts (0: within the tick) */
#endif
#ifndef DRIFT
#define DRIFT 1             /* over any stretch of time, one node's clock may run this many ticks ahead of the other's */
#endif
#ifndef CALLDL
#define CALLDL 2            /* a lease call's deadline; after it the node gives up, the request may still commit later */
#endif
#ifndef FAULTS
#ifdef PINGPONG
#define FAULTS 0            /* -DPINGPONG: both services are broken from the start; no other fault */
#else
#define FAULTS 1            /* at most this many crashes, SIGSTOPs, SIGTERMs, operator actions, service failures and
                               eligibility losses per run (message loss is unbounded) */
#endif
#endif
#ifndef HOLD
#define HOLD 2              /* hold-down: after a step-down the node is not eligible for this many ticks of its clock */
#endif
#ifndef LIVE_H
#define LIVE_H (TIMEOUT + CALLDL + DRIFT + DEMOTE)   /* liveness horizon in global ticks after the environment settles */
#endif

/* -DREACH=n turns reaching situation n into an assertion failure: a check that the model gets there
   (1 takeover from a live lease, 2 self-fencing, 3 release, 4 hand-off, 5 resume after restart,
   6 a late request commits, 7 a node wakes holding the address past its deadline, 8 an active is deposed,
   9 a step-down hand-off committed and its target served, 10 a not-eligible standby saw the lease stale
   and did not claim it, 11 an active whose service failed renewed and stayed active (no eligible standby),
   12 an active whose promotion could not bind the address stepped down) */
#ifdef REACH
/* the situation is REACH, or HS_REACH from pan's environment when set (scripts/check-model builds one
   verifier for all the reach checks: -DREACH=0, then HS_REACH=n ./pan) */
hidden byte reachSel;
c_code { static void hsReachInit(void) { const char *s = getenv("HS_REACH"); reachSel = (s && *s) ? atoi(s) : REACH; } }
#define REACHED(n) assert(reachSel != n)
#else
#define REACHED(n) skip
#endif

/* ---- constants ---- */
#define NOBODY 2

/* node states (FailoverStateMachine.State, plus DOWN for a dead process) */
#define DOWN       0
#define STARTING   1
#define STANDBY    2
#define CLAIMING   3    /* vetting + claiming: the pre-promote gate always allows */
#define CONFIRMING 4
#define ACTIVE     5
#define DEMOTING   6
#define STOPPED    7

/* lease calls */
#define NONE 0
#define OBS  1
#define REN  2
#define TKO  3
#define RELS 4
#define HOFF 5
#define SDOFF 6     /* a step-down's hand-off: the same statement as HOFF (kept apart for -DMUT_STEPDOWN_* and REACH) */

/* what a node does when its demotion has finished (AfterDemotion) */
#define AD_WATCH   0
#define AD_HANDOFF 1
#define AD_RELEASE 2
#define AD_STOP    3
#define AD_STEPDOWN 4   /* AD_HANDOFF, issued by a step-down (the hand-off is SDOFF) */

#define MIN(x, y) ((x) < (y) -> (x) : (y))

/* ---- the database: the lease row ---- */
byte dE;            /* epoch (values are renamed: a fresh value is never equal to one still referenced) */
byte dH = NOBODY;   /* active_node */
byte dC;            /* counter */
bit  dP;            /* paused */
byte dHo = NOBODY;  /* handover_to */

/* ---- the nodes ---- */
byte st[2];
bit  serving[2];    /* holds the address */
bit  frozen[2];     /* SIGSTOP */
bit  tail[2];       /* woke (or was killed) from a pause holding the address; dropping it now */
bit  dropping[2];   /* the address is being removed (demotion, or ExecStopPost after a crash) */
byte dropAge[2];
bit  shut[2];       /* shutdown requested */
bit  readSoon[2];
byte after[2];      /* AD_* while DEMOTING */
/* the standby's watch: the last successful read, and the age of the first read that showed it */
byte vE[2]; byte vH[2]; byte vC[2]; bit vP[2];
byte chAge[2];
/* the active's lease: epoch, counter of the last renew, age of the START of the last successful renew */
byte lE[2]; byte lC[2];
byte rAge[2];
#ifdef MUT_NO_FENCE_PAUSED
bit  lP[2];
#endif
/* the call in flight, its age (since it was sent), the age of the last completed call's start */
byte cK[2]; byte cAge[2]; byte since[2];
/* network: the current request (not yet applied), the answer, one stale request */
byte qK[2]; byte qE[2]; byte qC[2];
byte pK[2]; bit pOk[2]; byte pE[2]; byte pH[2]; byte pC[2]; bit pP[2]; byte pHo[2];
byte oK[2]; byte oE[2]; byte oC[2];
/* clocks: how far node 0's clock is ahead of node 1's, 0..DRIFT */
byte rel;

/* issue 15, the role follows the service */
bit  el[2] = 1;     /* the node's eligible flag (standby check, host prerequisites); a broken setup clears it */
byte hold[2];       /* hold-down ticks left (this node's clock) after its step-down: not eligible meanwhile */
#ifdef PINGPONG
bit  svcBad[2] = 1; /* -DPINGPONG: the service fails on both hosts whenever they are active */
#else
bit  svcBad[2];     /* the active's service failed (or its promotion could not bind the address) */
#endif
bit  knownEl[2];    /* the active: its last successful renew reported the other node as an eligible standby */
bit  row[2];        /* the database: node i's row says "eligible standby", as its last read wrote it */
bit  qEl[2];        /* the eligibility a read carries to the node's row (its value when the read was sent) */
bit  pEl[2];        /* a renew's answer: the other node's row, read at the renew's commit */
#ifdef PINGPONG
byte sinceSd[2] = HOLD;   /* ticks (this node's clock) since its last step-down, at most HOLD */
#ifdef PING_COMMITS
byte mvAge = HOLD;        /* global ticks since the last step-down hand-off committed, at most HOLD */
#endif
#endif
#ifdef REACH
byte sdTo = NOBODY; /* the target of the last step-down hand-off that committed */
#endif

#ifdef LIVENESS
bit  settled;
bit  won;
byte survivor;
byte liveTicks;
#endif

byte faults;        /* crashes, SIGSTOPs, SIGTERMs and operator actions so far */

hidden byte tv, kv, av, fresh;
hidden byte ok, differs, wasHandover;
hidden byte nk, ne, nc, ba, baE, baC, baK, sd, sdn;

#define running(i) (!frozen[i] && !tail[i])
/* eligible: the flag set and not in hold-down */
#define isEligible(i) (el[i] && hold[i] == 0)
#define twoServing (serving[0] && serving[1] && running(0) && running(1))

/* Values of epochs and counters are only ever compared for equality, so any renaming that keeps
   equalities is the same state: after every step they are renamed 1, 2, 3... in order of first
   appearance (a canonical form; without it the state space holds the same situation many times). */
c_code {
    static void hsRename(uchar *refs[], int n) {
        uchar map[256];
        uchar next = 1;
        int j;
        memset(map, 0, sizeof(map));
        for (j = 0; j < n; j++) {
            uchar v = *refs[j];
            if (v == 0) continue;
            if (map[v] == 0) map[v] = next++;
            *refs[j] = map[v];
        }
    }
    static void hsNormalize(void) {
        uchar *e[11] = { &now.dE, &now.vE[0], &now.vE[1], &now.lE[0], &now.lE[1], &now.qE[0], &now.qE[1],
                         &now.oE[0], &now.oE[1], &now.pE[0], &now.pE[1] };
        uchar *c[11] = { &now.dC, &now.vC[0], &now.vC[1], &now.lC[0], &now.lC[1], &now.qC[0], &now.qC[1],
                         &now.oC[0], &now.oC[1], &now.pC[0], &now.pC[1] };
        hsRename(e, 11);
        hsRename(c, 11);
#ifndef PINGPONG
        /* what the active knows of the other's eligibility only matters for a step-down: once no service
           can fail any more in this run (the fault budget is spent, none is failed), it is forgotten */
        if ((now.faults >= FAULTS
#ifdef LIVENESS
             || now.settled
#endif
            ) && !now.svcBad[0] && !now.svcBad[1]) {
            now.knownEl[0] = 0; now.knownEl[1] = 0; now.row[0] = 0; now.row[1] = 0;
            now.qEl[0] = 0; now.qEl[1] = 0; now.pEl[0] = 0; now.pEl[1] = 0;
        }
#endif
    }
}

/* after every event: canonical renaming, the safety assertion, and a line of trace for `spin -t` */
inline showState() {
    printf(" | n0 st=%d srv=%d frz=%d rAge=%d chAge=%d view=(e%d h%d c%d p%d) call=%d q=%d p=%d stale=%d el=%d hold=%d bad=%d kEl=%d",
           st[0], serving[0], frozen[0], rAge[0], chAge[0], vE[0], vH[0], vC[0], vP[0], cK[0], qK[0], pK[0], oK[0], el[0], hold[0], svcBad[0], knownEl[0]);
    printf(" | n1 st=%d srv=%d frz=%d rAge=%d chAge=%d view=(e%d h%d c%d p%d) call=%d q=%d p=%d stale=%d el=%d hold=%d bad=%d kEl=%d",
           st[1], serving[1], frozen[1], rAge[1], chAge[1], vE[1], vH[1], vC[1], vP[1], cK[1], qK[1], pK[1], oK[1], el[1], hold[1], svcBad[1], knownEl[1]);
    printf(" | db e%d h%d c%d p%d ho%d row%d%d | rel=%d\n", dE, dH, dC, dP, dHo, row[0], row[1], rel)
}
#define check(label) c_code { hsNormalize(); }; printf(label); showState(); assert(!twoServing)

/* ---- renaming: a value not referenced anywhere (0 means "none") ---- */
#define usedE(x) (x == dE || x == vE[0] || x == vE[1] || x == lE[0] || x == lE[1] || \
                  x == qE[0] || x == qE[1] || x == oE[0] || x == oE[1] || x == pE[0] || x == pE[1])
#define usedC(x) (x == dC || x == vC[0] || x == vC[1] || x == lC[0] || x == lC[1] || \
                  x == qC[0] || x == qC[1] || x == oC[0] || x == oC[1] || x == pC[0] || x == pC[1])
inline freshEpoch() {
    fresh = 1;
    do
    :: usedE(fresh) -> fresh++
    :: else -> break
    od
}
inline freshCounter() {
    fresh = 1;
    do
    :: usedC(fresh) -> fresh++
    :: else -> break
    od
}

inline clearView(i)  { vE[i] = 0; vH[i] = 0; vC[i] = 0; vP[i] = 0; chAge[i] = 0 }
inline clearLease(i) { lE[i] = 0; lC[i] = 0; rAge[i] = 0 }
inline clearAnswer(i) { pK[i] = NONE; pOk[i] = 0; pE[i] = 0; pH[i] = 0; pC[i] = 0; pP[i] = 0; pHo[i] = 0; pEl[i] = 0 }

/* The node stops waiting for its current call: a request still in the network becomes stale
   (it may commit later; its answer goes nowhere).  One stale request per node: a newer one replaces it. */
inline abandonCall(i) {
    if
    :: qK[i] == TKO || qK[i] == RELS || qK[i] == HOFF || qK[i] == SDOFF -> oK[i] = qK[i]; oE[i] = qE[i]; oC[i] = qC[i]
    :: else -> skip     /* a stale read changes nothing; a stale renew only delays a takeover (see README) */
    fi;
    qK[i] = NONE; qE[i] = 0; qC[i] = 0; qEl[i] = 0;
    clearAnswer(i);
    cK[i] = NONE; cAge[i] = 0
}

/* a new call (the caller abandons any call still running into its deadline first) */
inline send(i, kind, e, c) {
    cK[i] = kind; cAge[i] = 0; qK[i] = kind; qE[i] = e; qC[i] = c;
    qEl[i] = (kind == OBS && isEligible(i));   /* the read writes the node's row with its eligibility now */
    readSoon[i] = 0
}

/* eligibleAt(watch) <= now; rank 0 (two nodes); a node that is not eligible never claims (issue 15) */
#define dueNow(i) (!vP[i] && vH[i] != i && !shut[i] && (vH[i] == NOBODY || chAge[i] >= TIMEOUT))
#define eligibleNow(i) (isEligible(i) && dueNow(i))

#ifdef PINGPONG
#define clearSvc(i) skip        /* both hosts' services stay broken */
#else
#define clearSvc(i) svcBad[i] = 0   /* the next promotion starts the service afresh */
#endif

/* the demotion starts; it always runs (also when the address was never bound: the other steps) */
inline startDemote(i, ad) {
    st[i] = DEMOTING; after[i] = ad; clearView(i);
    rAge[i] = 0; knownEl[i] = 0; clearSvc(i);
    if
    :: !dropping[i] -> dropping[i] = 1; dropAge[i] = 0
    :: else -> skip
    fi
}

inline becomeActive(i, e, c, age, k) {
    st[i] = ACTIVE; lE[i] = e; lC[i] = c; rAge[i] = age; clearView(i);
    knownEl[i] = k;                    /* a confirming renew reports the other's row; a takeover does not */
    since[i] = MIN(age, INTERVAL);     /* the next renew is due an interval after the write was sent */
    serving[i] = 1;                    /* promotion at once: the worst case for safety */
#ifdef REACH
    if :: sdTo == i -> REACHED(9) :: else -> skip fi
#endif
}

/* Step-down (issue 15): the active whose service failed demotes, then hands off to the other node
   (SDOFF: epoch = mine AND holder = me AND counter = last renewed), and is in hold-down for HOLD ticks. */
#if defined(PINGPONG) && defined(PING_COMMITS)
/* -DPING_COMMITS: the moves counted where the hand-offs commit (global time), not where nodes step down */
#define pingCount(i) sinceSd[i] = 0
#define moveCommitted assert(mvAge >= HOLD); mvAge = 0
#define ageMoves mvAge = MIN(mvAge + 1, HOLD)
#elif defined(PINGPONG)
/* the role is not handed back within HOLD ticks (of the first node's clock) of its step-down */
#define pingCount(i) assert(sinceSd[1 - i] >= HOLD); sinceSd[i] = 0
#define moveCommitted skip
#define ageMoves skip
#else
#define moveCommitted skip
#define ageMoves skip
#define pingCount(i) skip
#endif
#ifdef MUT_NO_HOLDDOWN
#define holdDown(i) skip                      /* relaxation: no hold-down */
#else
#define holdDown(i) hold[i] = HOLD
#endif
inline stepDown(i) {
    if :: !serving[i] -> REACHED(12) :: else -> skip fi;
    pingCount(i);
    holdDown(i);
#if defined(MUT_HANDOFF_BEFORE_DEMOTE)
    /* relaxation: hand off first, then demote */
    abandonCall(i); send(i, SDOFF, lE[i], lC[i]); startDemote(i, AD_WATCH)
#elif defined(MUT_STEPDOWN_UNDO)
    tv = rAge[i]; startDemote(i, AD_STEPDOWN); rAge[i] = tv   /* keeps the old lease's deadline */
#else
    startDemote(i, AD_STEPDOWN)
#endif
}
/* a service that failed, and the last renew reported an eligible standby: step down; else stay active */
inline stepDownCheck(i) {
    if
    :: st[i] == ACTIVE && svcBad[i] && knownEl[i] -> stepDown(i)
    :: else -> skip
    fi
}

/* fenceIfDeadlinePassed: runs first on every input */
#ifdef MUT_NO_FENCE_PAUSED
#define mustFence(i) (st[i] == ACTIVE && rAge[i] >= RENEW_DEADLINE && !lP[i])
#else
#define mustFence(i) (st[i] == ACTIVE && rAge[i] >= RENEW_DEADLINE)
#endif
inline fence(i) {
    if
    :: mustFence(i) -> REACHED(2); startDemote(i, AD_WATCH)
    :: else -> skip
    fi
}

inline exitNode(i) {
    st[i] = STOPPED; abandonCall(i); clearView(i); clearLease(i); readSoon[i] = 0; after[i] = 0;
    row[i] = 0      /* the exit writes the node's row: stopped */
}

/* nextCalls: start the call that is due, if none is in flight */
#define due(i) (since[i] >= INTERVAL || readSoon[i])
inline nextCalls(i) {
    nk = NONE; ne = 0; nc = 0;
    if
    :: cK[i] != NONE -> skip
    :: cK[i] == NONE && st[i] == STARTING -> nk = OBS
    :: cK[i] == NONE && st[i] == STANDBY && eligibleNow(i) -> st[i] = CLAIMING; nk = TKO; ne = vE[i]; nc = vC[i]
    :: cK[i] == NONE && st[i] == STANDBY && !eligibleNow(i) && due(i) -> nk = OBS
    :: cK[i] == NONE && st[i] == CLAIMING -> nk = TKO; ne = vE[i]; nc = vC[i]
    :: cK[i] == NONE && st[i] == CONFIRMING && due(i) -> nk = REN; ne = lE[i]
    :: cK[i] == NONE && st[i] == ACTIVE && since[i] >= INTERVAL -> nk = REN; ne = lE[i]
    :: else -> skip
    fi;
    if
    :: nk != NONE -> send(i, nk, ne, nc)
    :: else -> skip
    fi
}

/* handleLeaseResult: kv = the call, av = its age (now - startedAt); answered: an answer arrived
   (otherwise the call failed: lost, or past its deadline) */
inline handleResult(i, answered) {
    kv = cK[i]; av = cAge[i];
    cK[i] = NONE; cAge[i] = 0; qK[i] = NONE; qE[i] = 0; qC[i] = 0; qEl[i] = 0;
    since[i] = MIN(av, INTERVAL);
    ba = 0; sd = 0; sdn = 0; baK = 0;
    if
    :: st[i] == STOPPED -> skip
    /* a standby's read */
    :: (st[i] == STARTING || st[i] == STANDBY) && kv == OBS && answered ->
        differs = (st[i] == STARTING || vE[i] != pE[i] || vC[i] != pC[i] || vH[i] != pH[i] || vP[i] != pP[i]);
        wasHandover = (st[i] == STANDBY && vE[i] != pE[i] && vH[i] != i);
        vE[i] = pE[i]; vH[i] = pH[i]; vC[i] = pC[i]; vP[i] = pP[i];
        st[i] = STANDBY;
#ifdef MUT_FIRST_SEEN_SEND
        chAge[i] = (differs -> av : chAge[i]);     /* relaxation: first seen = when the read was sent */
#else
        chAge[i] = (differs -> 0 : chAge[i]);      /* first seen = when the read's result arrived */
#endif
        /* afterObservation: a node the lease names confirms with a renew (eligibility: nextCalls) */
#ifdef MUT_HANDOFF_SERVE
        if
        :: vH[i] == i && wasHandover -> ba = 1; baE = vE[i]; baC = vC[i]     /* relaxation: serve on reading the hand-off */
        :: vH[i] == i && !wasHandover -> tv = vE[i]; st[i] = CONFIRMING; clearView(i); lE[i] = tv; readSoon[i] = 1
        :: else -> skip
        fi
#else
        if
        :: vH[i] == i -> tv = vE[i]; st[i] = CONFIRMING; clearView(i); lE[i] = tv; readSoon[i] = 1
        :: else -> skip
        fi
#endif
    /* the compare-and-set */
    :: st[i] == CLAIMING && kv == TKO && answered && pOk[i] -> ba = 1; baE = pE[i]; baC = pC[i]
    :: st[i] == CLAIMING && kv == TKO && answered && !pOk[i] -> st[i] = STANDBY; readSoon[i] = 1
    :: st[i] == CLAIMING && kv == TKO && !answered -> st[i] = STANDBY
    /* the first renew of a node the lease names */
    :: st[i] == CONFIRMING && kv == REN && answered && pOk[i] -> REACHED(5); ba = 1; baE = lE[i]; baC = pC[i]; baK = pEl[i]
    :: st[i] == CONFIRMING && kv == REN && answered && !pOk[i] -> st[i] = STARTING; clearLease(i); readSoon[i] = 1
    /* the active's renew */
    :: st[i] == ACTIVE && kv == REN && answered && pOk[i] ->
#ifdef MUT_DEADLINE_FROM_ACK
        rAge[i] = 0;                   /* relaxation: the deadline counts from the ack */
#else
        rAge[i] = MIN(rAge[i], av);    /* from the start of the last successful renew */
#endif
        lC[i] = pC[i];
#ifdef MUT_NO_FENCE_PAUSED
        lP[i] = pP[i];
#endif
        knownEl[i] = pEl[i];
        sd = ((pHo[i] != NOBODY && pHo[i] != i) -> AD_HANDOFF + 1 : 0);
        sdn = (!sd && svcBad[i] && knownEl[i]);
        if :: !sd && svcBad[i] && !knownEl[i] -> REACHED(11) :: else -> skip fi
    :: st[i] == ACTIVE && kv == REN && answered && !pOk[i] -> REACHED(8); sd = AD_WATCH + 1
    /* hand-off and release after demotion */
    :: st[i] != STOPPED && (kv == HOFF || kv == SDOFF) && shut[i] -> exitNode(i)
#ifdef MUT_STEPDOWN_UNDO
    /* relaxation: a step-down hand-off that failed is taken back: active again on the old lease */
    :: st[i] == STARTING && kv == SDOFF && !shut[i] && !answered && lE[i] != 0 -> st[i] = ACTIVE; serving[i] = 1; since[i] = INTERVAL
    :: st[i] != STOPPED && kv == SDOFF && !shut[i] && (answered || lE[i] == 0) -> clearLease(i); readSoon[i] = 1
    :: st[i] != STOPPED && kv == HOFF && !shut[i] -> readSoon[i] = 1
#else
    :: st[i] != STOPPED && (kv == HOFF || kv == SDOFF) && !shut[i] -> readSoon[i] = 1
#endif
    :: st[i] == DEMOTING && after[i] == AD_RELEASE && kv == RELS -> exitNode(i)
    :: else -> skip   /* a failure, or a result that no longer matters */
    fi;
    if
    :: ba -> becomeActive(i, baE, baC, av, baK); stepDownCheck(i)   /* a failed service: at once (-DPINGPONG) */
    :: else -> skip
    fi;
    if
    :: sd -> startDemote(i, sd - 1)
    :: sdn -> stepDown(i)
    :: else -> skip
    fi;
    clearAnswer(i)
}

/* handleDemotionFinished: issues the hand-off or the release even if a renew is still in flight */
inline demotionFinished(i) {
    nk = NONE;
    if
    :: after[i] == AD_WATCH -> st[i] = STARTING; clearLease(i); readSoon[i] = 1
    :: after[i] == AD_HANDOFF -> st[i] = STARTING; nk = HOFF; ne = lE[i]; nc = lC[i]; clearLease(i)
#ifdef MUT_STEPDOWN_UNDO
    :: after[i] == AD_STEPDOWN -> st[i] = STARTING; nk = SDOFF; ne = lE[i]; nc = lC[i]   /* keeps the lease */
#else
    :: after[i] == AD_STEPDOWN -> st[i] = STARTING; nk = SDOFF; ne = lE[i]; nc = lC[i]; clearLease(i)
#endif
    :: after[i] == AD_RELEASE -> nk = RELS; ne = lE[i]; nc = lC[i]    /* stays DEMOTING until the answer */
    :: after[i] == AD_STOP -> exitNode(i)
    fi;
    after[i] = (after[i] == AD_RELEASE -> AD_RELEASE : 0);
    if
    :: nk != NONE -> abandonCall(i); send(i, nk, ne, nc)
    :: else -> skip
    fi
}

/* the address is gone */
inline finishDrop(i) {
    serving[i] = 0; dropping[i] = 0; dropAge[i] = 0; tail[i] = 0;
    if
    :: st[i] == DEMOTING -> demotionFinished(i); nextCalls(i)
    :: else -> skip
    fi
}

inline handleShutdown(i) {
    shut[i] = 1;
    if
    :: st[i] == ACTIVE -> startDemote(i, AD_RELEASE)     /* release(epoch, counter of the last renew) */
    :: st[i] == DEMOTING && after[i] == AD_WATCH -> after[i] = AD_STOP
    :: st[i] == DEMOTING && after[i] != AD_WATCH -> skip
    :: st[i] == STOPPED -> skip
    :: else -> exitNode(i)
    fi
}

/* the node's monotonic clock advances one tick */
#ifdef MUT_STEPDOWN_UNDO
#define agesLease(i) (st[i] == ACTIVE || (st[i] != CONFIRMING && lE[i] != 0))
#else
#define agesLease(i) (st[i] == ACTIVE)
#endif
#ifdef PINGPONG
#define agePing(i) sinceSd[i] = MIN(sinceSd[i] + 1, HOLD)
#else
#define agePing(i) skip
#endif
inline ageUp(i) {
    chAge[i] = ((st[i] == STANDBY || st[i] == CLAIMING) -> MIN(chAge[i] + 1, TIMEOUT) : chAge[i]);
    rAge[i] = (agesLease(i) -> MIN(rAge[i] + 1, RENEW_DEADLINE) : rAge[i]);
    hold[i] = (hold[i] > 0 -> hold[i] - 1 : 0);
    agePing(i);
    cAge[i] = (cK[i] != NONE -> MIN(cAge[i] + 1, CALLDL) : 0);
    since[i] = MIN(since[i] + 1, INTERVAL)
}

/* the store's deadline: the call failed; its request may still be in the network */
inline callFailed(i) {
    if
    :: qK[i] == TKO || qK[i] == RELS || qK[i] == HOFF || qK[i] == SDOFF -> oK[i] = qK[i]; oE[i] = qE[i]; oC[i] = qC[i]
    :: else -> skip
    fi;
    qK[i] = NONE; qE[i] = 0; qC[i] = 0; qEl[i] = 0;
    clearAnswer(i);
    handleResult(i, 0)
}

inline ltick(i) {
    if
    :: st[i] == DOWN || st[i] == STOPPED ->
        /* ExecStopPost's `hotstandby release` after a crash */
        if
        :: dropping[i] && dropAge[i] >= DEMOTE -> serving[i] = 0; dropping[i] = 0; dropAge[i] = 0; tail[i] = 0
        :: dropping[i] && dropAge[i] < DEMOTE -> dropAge[i]++
        :: else -> skip
        fi
    :: st[i] != DOWN && st[i] != STOPPED && frozen[i] ->
        ageUp(i)    /* the clock runs; the process (and its demotion) does not */
    :: st[i] != DOWN && st[i] != STOPPED && !frozen[i] ->
        if
        :: dropping[i] && dropAge[i] >= DEMOTE -> finishDrop(i)
        :: dropping[i] && dropAge[i] < DEMOTE -> dropAge[i]++
        :: else -> skip
        fi;
        ageUp(i);
        if
        :: cK[i] != NONE && cAge[i] >= CALLDL -> callFailed(i)
        :: else -> skip
        fi;
        fence(i);
        if   /* a stale lease that only the eligibility rule keeps this standby from claiming */
        :: st[i] == STANDBY && cK[i] == NONE && dueNow(i) && vH[i] == 1 - i && !isEligible(i) -> REACHED(10)
        :: else -> skip
        fi;
        nextCalls(i)                /* handle(.tick) */
    fi
}

/* ---- the database ---- */
inline dbApply(i, kind, e, c, reply) {
    ok = 0;
    if
    :: kind == OBS -> ok = 1; row[i] = qEl[i]   /* the read refreshes the node's row */
    :: kind == REN ->
        row[i] = 0;                             /* the renew writes the node's row: active */
        if
        :: dE == e && dH == i -> freshCounter(); dC = fresh; ok = 1
        :: else -> skip
        fi
    :: kind == TKO ->
        if
        :: dE == e && dC == c && !dP -> if :: dH != NOBODY -> REACHED(1) :: else -> skip fi; freshEpoch(); dE = fresh; freshCounter(); dC = fresh; dH = i; dHo = NOBODY; ok = 1
        :: else -> skip
        fi
    :: kind == RELS ->
#ifdef MUT_RELEASE_NO_COUNTER
        if
        :: dE == e && dH == i -> freshEpoch(); dE = fresh; freshCounter(); dC = fresh; dH = NOBODY; dHo = NOBODY; ok = 1
        :: else -> skip
        fi
#else
        if
        :: dE == e && dH == i && dC == c -> REACHED(3); freshEpoch(); dE = fresh; freshCounter(); dC = fresh; dH = NOBODY; dHo = NOBODY; ok = 1
        :: else -> skip
        fi
#endif
    :: kind == HOFF ->
        if
        :: dE == e && dH == i && dC == c -> REACHED(4);
            freshEpoch(); dE = fresh; freshCounter(); dC = fresh; dH = 1 - i; dHo = NOBODY; ok = 1
        :: else -> skip
        fi
    :: kind == SDOFF ->
        if
#ifdef MUT_STEPDOWN_NO_COUNTER
        :: dE == e && dH == i ->    /* relaxation: the step-down's hand-off without the counter check */
#else
        :: dE == e && dH == i && dC == c ->
#endif
            freshEpoch(); dE = fresh; freshCounter(); dC = fresh; dH = 1 - i; dHo = NOBODY; ok = 1;
            moveCommitted;
#ifdef REACH
            sdTo = 1 - i
#else
            skip
#endif
        :: else -> skip
        fi
    fi;
    if
    :: reply ->
        pK[i] = kind; pOk[i] = ok;
        if
        :: kind == OBS -> pE[i] = dE; pH[i] = dH; pC[i] = dC; pP[i] = dP
        :: kind == REN -> pC[i] = (ok -> dC : 0); pHo[i] = dHo; pP[i] = dP; pEl[i] = row[1 - i]
        :: kind == TKO && ok -> pE[i] = dE; pC[i] = dC
        :: else -> skip
        fi
    :: else -> skip
    fi
}

/* ---- events ---- */
inline applyCurrent(i) {
    tv = qK[i]; qK[i] = NONE;
    dbApply(i, tv, qE[i], qC[i], 1);
    qE[i] = 0; qC[i] = 0; qEl[i] = 0
}
inline applyStale(i) {
    tv = oK[i]; oK[i] = NONE;
    dbApply(i, tv, oE[i], oC[i], 0);
    if :: ok -> REACHED(6) :: else -> skip fi;
    oE[i] = 0; oC[i] = 0
}
inline deliver(i) {
    fence(i); handleResult(i, 1); nextCalls(i)
}
inline crash(i) {
    abandonCall(i);
    tail[i] = tail[i] || (frozen[i] && serving[i]);
    frozen[i] = 0;
    st[i] = DOWN; clearView(i); clearLease(i); since[i] = 0; readSoon[i] = 0; shut[i] = 0; after[i] = 0;
    hold[i] = 0; knownEl[i] = 0; clearSvc(i);    /* the hold-down is in memory; the row stays as it was */
#ifdef MUT_NO_FENCE_PAUSED
    lP[i] = 0;
#endif
    if
    :: serving[i] && !dropping[i] -> dropping[i] = 1; dropAge[i] = 0
    :: else -> skip
    fi
}
inline restart(i) {
    st[i] = STARTING; since[i] = INTERVAL; readSoon[i] = 1; shut[i] = 0;
    nextCalls(i)
}
inline wake(i) {
    frozen[i] = 0;
    if   /* the store's deadline passed while frozen: the call failed */
    :: cK[i] != NONE && cAge[i] >= CALLDL -> callFailed(i)
    :: else -> skip
    fi;
#ifndef MUT_NO_WAKE_FENCE
    fence(i);           /* the deadline first: a node that slept through it drops the address */
#endif
    tail[i] = serving[i] && dropping[i];
    if :: tail[i] -> REACHED(7) :: else -> skip fi;
    nextCalls(i)
}

#ifdef LIVENESS
#define FAULT (!settled)
#define mayRestart(i) (!settled || survivor == i)
#else
#define FAULT 1
#define mayRestart(i) 1
#endif

#ifdef LIVENESS
/* after the environment settled, every answer arrives before the next tick, and systemd restarts
   the survivor if it is down (once its address is gone) before time goes on */
#define TIMEOK (!settled || (quiet(survivor) && !won && st[survivor] != DOWN && st[survivor] != STOPPED))
/* at each tick after the environment settled: has the survivor taken over yet? */
#define LIVECOUNT \
    if \
    :: settled && !won && st[survivor] == ACTIVE && serving[survivor] -> won = 1 \
    :: settled && !won && !(st[survivor] == ACTIVE && serving[survivor]) -> liveTicks++; assert(liveTicks <= LIVE_H) \
    :: else -> skip \
    fi
#else
#define TIMEOK 1
#define LIVECOUNT skip
#endif

#ifdef LIVENESS
inline settle(h, s) {
    settled = 1; survivor = s; liveTicks = 0;
    dP = 0;                                                  /* the operator resumes */
    el[s] = 1; svcBad[s] = 0;                                /* the setup is repaired */
    if :: st[h] != DOWN -> crash(h) :: else -> skip fi;      /* the active goes down for good */
    if :: frozen[s] -> wake(s) :: else -> skip fi;
    oK[0] = NONE; oE[0] = 0; oC[0] = 0; oK[1] = NONE; oE[1] = 0; oC[1] = 0   /* no stale requests left */
}
#define quiet(s) (qK[s] == NONE && pK[s] == NONE)
#endif

active proctype world() {
#ifdef REACH
    c_code { hsReachInit(); };
#endif
    do
    /* time */
    :: d_step { TIMEOK -> ltick(0); ltick(1); ageMoves; LIVECOUNT; check("tick") }
#if DRIFT > 0
    /* node 0's clock runs ahead of node 1's by rel ticks, 0..DRIFT; global time is node 1's clock */
    :: d_step { rel < DRIFT && TIMEOK -> rel++; ltick(0); check("tick0") }
    :: d_step { rel > 0 && TIMEOK -> rel--; ltick(1); ageMoves; LIVECOUNT; check("tick1") }
#endif
    /* the database applies a request */
    :: d_step { qK[0] != NONE -> applyCurrent(0); check("db<-0") }
    :: d_step { qK[1] != NONE -> applyCurrent(1); check("db<-1") }
    :: d_step { oK[0] != NONE -> applyStale(0); check("db<-0late") }
    :: d_step { oK[1] != NONE -> applyStale(1); check("db<-1late") }
    /* an answer arrives */
    :: d_step { pK[0] != NONE && cK[0] != NONE && !frozen[0] && st[0] != DOWN -> deliver(0); check("ans->0") }
    :: d_step { pK[1] != NONE && cK[1] != NONE && !frozen[1] && st[1] != DOWN -> deliver(1); check("ans->1") }
    /* the address removal finishes early */
    :: d_step { dropping[0] && !frozen[0] -> finishDrop(0); check("dropped0") }
    :: d_step { dropping[1] && !frozen[1] -> finishDrop(1); check("dropped1") }
    /* restart (systemd) after a crash or a stop, once the address is gone */
    :: d_step { (st[0] == DOWN || st[0] == STOPPED) && !serving[0] && mayRestart(0) -> restart(0); check("restart0") }
    :: d_step { (st[1] == DOWN || st[1] == STOPPED) && !serving[1] && mayRestart(1) -> restart(1); check("restart1") }
#ifdef LIVENESS
    :: d_step { !settled && dH != NOBODY -> settle(dH, 1 - dH); check("settle") }
    :: d_step { !settled && dH == NOBODY -> settle(1, 0); check("settle") }
    :: d_step { !settled && dH == NOBODY -> settle(0, 1); check("settle") }
    :: won -> break      /* the survivor took over in time: this run is done */
#endif
    /* faults and operators (not after the environment settled) */
    /* the network loses a request or an answer */
    :: d_step { FAULT && qK[0] != NONE -> qK[0] = NONE; qE[0] = 0; qC[0] = 0; qEl[0] = 0; check("lost q0") }
    :: d_step { FAULT && qK[1] != NONE -> qK[1] = NONE; qE[1] = 0; qC[1] = 0; qEl[1] = 0; check("lost q1") }
    :: d_step { FAULT && oK[0] != NONE -> oK[0] = NONE; oE[0] = 0; oC[0] = 0; check("lost late0") }
    :: d_step { FAULT && oK[1] != NONE -> oK[1] = NONE; oE[1] = 0; oC[1] = 0; check("lost late1") }
    :: d_step { FAULT && pK[0] != NONE -> clearAnswer(0); check("lost p0") }
    :: d_step { FAULT && pK[1] != NONE -> clearAnswer(1); check("lost p1") }
    /* kill -9 or host death */
    :: d_step { FAULT && faults < FAULTS && st[0] != DOWN && st[0] != STOPPED -> faults++; crash(0); check("crash0") }
    :: d_step { FAULT && faults < FAULTS && st[1] != DOWN && st[1] != STOPPED -> faults++; crash(1); check("crash1") }
    /* SIGSTOP / SIGCONT */
    :: d_step { FAULT && faults < FAULTS && !frozen[0] && st[0] != DOWN && st[0] != STOPPED -> faults++; frozen[0] = 1; check("SIGSTOP0") }
    :: d_step { FAULT && faults < FAULTS && !frozen[1] && st[1] != DOWN && st[1] != STOPPED -> faults++; frozen[1] = 1; check("SIGSTOP1") }
    :: d_step { FAULT && frozen[0] -> wake(0); check("SIGCONT0") }
    :: d_step { FAULT && frozen[1] -> wake(1); check("SIGCONT1") }
    /* SIGTERM */
    :: d_step { FAULT && faults < FAULTS && !frozen[0] && !shut[0] && st[0] != DOWN && st[0] != STOPPED -> faults++; fence(0); handleShutdown(0); nextCalls(0); check("SIGTERM0") }
    :: d_step { FAULT && faults < FAULTS && !frozen[1] && !shut[1] && st[1] != DOWN && st[1] != STOPPED -> faults++; fence(1); handleShutdown(1); nextCalls(1); check("SIGTERM1") }
    /* operator: pause, resume, switchover */
    :: d_step { FAULT && faults < FAULTS && !dP -> faults++; dP = 1; check("pause") }
    :: d_step { FAULT && dP -> dP = 0; check("resume") }     /* a resume follows a pause: not counted */
    :: d_step { FAULT && faults < FAULTS && dH != NOBODY && dHo == NOBODY -> faults++; dHo = 1 - dH; check("switchover") }
    /* issue 15: the active's service fails (the address stays bound), or its promotion could not bind the address */
    :: d_step { FAULT && faults < FAULTS && st[0] == ACTIVE && !svcBad[0] && !frozen[0] -> faults++; fence(0);
                if :: st[0] == ACTIVE -> svcBad[0] = 1; stepDownCheck(0) :: else -> skip fi; nextCalls(0); check("svcfail0") }
    :: d_step { FAULT && faults < FAULTS && st[1] == ACTIVE && !svcBad[1] && !frozen[1] -> faults++; fence(1);
                if :: st[1] == ACTIVE -> svcBad[1] = 1; stepDownCheck(1) :: else -> skip fi; nextCalls(1); check("svcfail1") }
    :: d_step { FAULT && faults < FAULTS && st[0] == ACTIVE && serving[0] && !svcBad[0] && !frozen[0] -> faults++; fence(0);
                if :: st[0] == ACTIVE -> serving[0] = 0; svcBad[0] = 1; stepDownCheck(0) :: else -> skip fi; nextCalls(0); check("nobind0") }
    :: d_step { FAULT && faults < FAULTS && st[1] == ACTIVE && serving[1] && !svcBad[1] && !frozen[1] -> faults++; fence(1);
                if :: st[1] == ACTIVE -> serving[1] = 0; svcBad[1] = 1; stepDownCheck(1) :: else -> skip fi; nextCalls(1); check("nobind1") }
    /* issue 15: the setup breaks (standby check, host prerequisite): not eligible; and is repaired (not counted) */
    :: d_step { FAULT && faults < FAULTS && el[0] -> faults++; el[0] = 0; check("inelig0") }
    :: d_step { FAULT && faults < FAULTS && el[1] -> faults++; el[1] = 0; check("inelig1") }
    :: d_step { FAULT && !el[0] -> el[0] = 1; check("elig0") }
    :: d_step { FAULT && !el[1] -> el[1] = 1; check("elig1") }
    od
}
