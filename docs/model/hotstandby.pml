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
 *   - the operator: pause, resume, switchover (writes handover_to).
 *
 * Time is in ticks (think 1 tick = 1 interval).  A node never reads a global clock: it keeps ages
 * ("ticks since ...") on its own clock, which is what the Swift code does with its monotonic instants.
 *
 * Safety (always checked): never two nodes serving while both are running.  A node that is SIGSTOPped
 * is not running; nor is one that woke from a pause holding the address and is now dropping it (the
 * "wake tail", at most DEMOTE ticks): DESIGN.md's promise for a paused process is an overlap no longer
 * than the time until it runs again plus the address removal.
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
#define DEMOTE 1            /* the address is gone at most this many ticks after a demotion starts (0: before the next tick) */
#endif
#ifndef DRIFT
#define DRIFT 1             /* over any stretch of time, one node's clock may run this many ticks ahead of the other's */
#endif
#ifndef CALLDL
#define CALLDL 1            /* a lease call's deadline; after it the node gives up, the request may still commit later */
#endif
#ifndef LIVE_H
#define LIVE_H (TIMEOUT + DEMOTE + DRIFT + 3)   /* liveness horizon in global ticks after the environment settles */
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

/* what a node does when its demotion has finished (AfterDemotion) */
#define AD_WATCH   0
#define AD_HANDOFF 1
#define AD_RELEASE 2
#define AD_STOP    3

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

#ifdef LIVENESS
bit  settled;
byte survivor;
byte liveTicks;
#endif

hidden byte tv, kv, av, fresh;
hidden byte ok, differs, wasHandover;

#define running(i) (!frozen[i] && !tail[i])
#define twoServing (serving[0] && serving[1] && running(0) && running(1))

inline check() {
    assert(!twoServing)
}

/* ---- renaming: a value not referenced anywhere (0 means "none") ---- */
inline freshEpoch() {
    fresh = 1;
    do
    :: (fresh == dE || fresh == vE[0] || fresh == vE[1] || fresh == lE[0] || fresh == lE[1] ||
        fresh == qE[0] || fresh == qE[1] || fresh == oE[0] || fresh == oE[1] || fresh == pE[0] || fresh == pE[1]) ->
        fresh++
    :: else -> break
    od
}
inline freshCounter() {
    fresh = 1;
    do
    :: (fresh == dC || fresh == vC[0] || fresh == vC[1] || fresh == lC[0] || fresh == lC[1] ||
        fresh == qC[0] || fresh == qC[1] || fresh == oC[0] || fresh == oC[1] || fresh == pC[0] || fresh == pC[1]) ->
        fresh++
    :: else -> break
    od
}

inline clearView(i)  { vE[i] = 0; vH[i] = 0; vC[i] = 0; vP[i] = 0; chAge[i] = 0 }
inline clearLease(i) { lE[i] = 0; lC[i] = 0; rAge[i] = 0 }
inline clearAnswer(i) { pK[i] = NONE; pOk[i] = 0; pE[i] = 0; pH[i] = 0; pC[i] = 0; pP[i] = 0; pHo[i] = 0 }

/* The node stops waiting for its current call: a request still in the network becomes stale
   (it may commit later; its answer goes nowhere).  One stale request per node: av newer one replaces it. */
inline abandonCall(i) {
    if
    :: qK[i] != NONE -> oK[i] = qK[i]; oE[i] = qE[i]; oC[i] = qC[i]; qK[i] = NONE; qE[i] = 0; qC[i] = 0
    :: else -> skip
    fi;
    clearAnswer(i);
    cK[i] = NONE; cAge[i] = 0
}

/* issue(): a new call; one still running into its deadline is abandoned (its result would be ignored) */
inline issue(i, kind, e, c) {
    abandonCall(i);
    cK[i] = kind; cAge[i] = 0; qK[i] = kind; qE[i] = e; qC[i] = c;
    readSoon[i] = 0
}

/* eligibleAt(watch) <= now; rank 0 (two nodes) */
#define eligibleNow(i) (!vP[i] && vH[i] != i && !shut[i] && (vH[i] == NOBODY || chAge[i] >= TIMEOUT))

inline startDemote(i, ad) {
    st[i] = DEMOTING; after[i] = ad; clearView(i);
    rAge[i] = 0;
    if
    :: serving[i] && !dropping[i] -> dropping[i] = 1; dropAge[i] = 0
    :: else -> skip
    fi
}

inline becomeActive(i, e, c, age) {
    st[i] = ACTIVE; lE[i] = e; lC[i] = c; rAge[i] = age; clearView(i);
    since[i] = MIN(age, INTERVAL);     /* the next renew is due an interval after the write was sent */
    serving[i] = 1                     /* promotion at once: the worst case for safety */
}

/* fenceIfDeadlinePassed: runs first on every input */
inline fence(i) {
    if
#ifdef MUT_NO_FENCE_PAUSED
    :: st[i] == ACTIVE && rAge[i] >= RENEW_DEADLINE && !lP[i] -> startDemote(i, AD_WATCH)
#else
    :: st[i] == ACTIVE && rAge[i] >= RENEW_DEADLINE -> startDemote(i, AD_WATCH)
#endif
    :: else -> skip
    fi
}

inline exitNode(i) {
    st[i] = STOPPED; abandonCall(i); clearView(i); clearLease(i); readSoon[i] = 0; after[i] = 0
}

/* nextCalls: start the call that is due, if none is in flight */
inline nextCalls(i) {
    if
    :: cK[i] == NONE ->
        if
        :: st[i] == STARTING -> issue(i, OBS, 0, 0)
        :: st[i] == STANDBY && eligibleNow(i) -> st[i] = CLAIMING; issue(i, TKO, vE[i], vC[i])
        :: st[i] == STANDBY && !eligibleNow(i) && (since[i] >= INTERVAL || readSoon[i]) -> issue(i, OBS, 0, 0)
        :: st[i] == CLAIMING -> issue(i, TKO, vE[i], vC[i])
        :: st[i] == CONFIRMING && (since[i] >= INTERVAL || readSoon[i]) -> issue(i, REN, lE[i], 0)
        :: st[i] == ACTIVE && since[i] >= INTERVAL -> issue(i, REN, lE[i], 0)
        :: else -> skip
        fi
    :: else -> skip
    fi
}

/* afterObservation: a standby's successful read */
inline afterObservation(i) {
    if
    :: vH[i] == i ->
#ifdef MUT_HANDOFF_SERVE
        if
        :: wasHandover -> becomeActive(i, vE[i], vC[i], av)      /* relaxation: serve on reading the hand-off */
        :: else -> tv = vE[i]; st[i] = CONFIRMING; clearView(i); lE[i] = tv; readSoon[i] = 1
        fi
#else
        tv = vE[i]; st[i] = CONFIRMING; clearView(i); lE[i] = tv; readSoon[i] = 1
#endif
    :: else -> skip   /* eligibility is checked in nextCalls, which follows */
    fi
}

/* handleLeaseResult: kv = the call, a = its age (now - startedAt), ok = whether an answer arrived */
inline handleResult(i, answered) {
    kv = cK[i]; av = cAge[i];
    cK[i] = NONE; cAge[i] = 0; qK[i] = NONE; qE[i] = 0; qC[i] = 0;
    since[i] = MIN(av, INTERVAL);
    if
    :: st[i] == STOPPED -> skip
    /* a standby's read */
    :: (st[i] == STARTING || st[i] == STANDBY) && kv == OBS && answered ->
        differs = (st[i] == STARTING || vE[i] != pE[i] || vC[i] != pC[i] || vH[i] != pH[i] || vP[i] != pP[i]);
        wasHandover = (st[i] == STANDBY && vE[i] != pE[i] && vH[i] != i);
        vE[i] = pE[i]; vH[i] = pH[i]; vC[i] = pC[i]; vP[i] = pP[i];
        st[i] = STANDBY;
        if
#ifdef MUT_FIRST_SEEN_SEND
        :: differs -> chAge[i] = av     /* relaxation: first seen = when the read was sent */
#else
        :: differs -> chAge[i] = 0     /* first seen = when the read's result arrived */
#endif
        :: else -> skip
        fi;
        afterObservation(i)
    /* the compare-and-set */
    :: st[i] == CLAIMING && kv == TKO && answered && pOk[i] -> becomeActive(i, pE[i], pC[i], av)
    :: st[i] == CLAIMING && kv == TKO && answered && !pOk[i] -> st[i] = STANDBY; readSoon[i] = 1
    :: st[i] == CLAIMING && kv == TKO && !answered -> st[i] = STANDBY
    /* the first renew of a node the lease names */
    :: st[i] == CONFIRMING && kv == REN && answered && pOk[i] -> becomeActive(i, lE[i], pC[i], av)
    :: st[i] == CONFIRMING && kv == REN && answered && !pOk[i] -> st[i] = STARTING; clearLease(i); readSoon[i] = 1
    /* the active's renew */
    :: st[i] == ACTIVE && kv == REN && answered && pOk[i] ->
#ifdef MUT_DEADLINE_FROM_ACK
        rAge[i] = 0;                   /* relaxation: the deadline counts from the ack */
#else
        rAge[i] = MIN(rAge[i], av);     /* from the start of the last successful renew */
#endif
        lC[i] = pC[i];
#ifdef MUT_NO_FENCE_PAUSED
        lP[i] = pP[i];
#endif
        if
        :: pHo[i] != NOBODY && pHo[i] != i -> startDemote(i, AD_HANDOFF)
        :: else -> skip
        fi
    :: st[i] == ACTIVE && kv == REN && answered && !pOk[i] -> startDemote(i, AD_WATCH)
    /* hand-off and release after demotion */
    :: st[i] != STOPPED && kv == HOFF ->
        if
        :: shut[i] -> exitNode(i)
        :: else -> readSoon[i] = 1
        fi
    :: st[i] == DEMOTING && after[i] == AD_RELEASE && kv == RELS -> exitNode(i)
    :: else -> skip   /* a failure, or a result that no longer matters */
    fi;
    clearAnswer(i)
}

/* handleDemotionFinished */
inline demotionFinished(i) {
    if
    :: after[i] == AD_WATCH -> st[i] = STARTING; clearLease(i); readSoon[i] = 1
    :: after[i] == AD_HANDOFF -> st[i] = STARTING; tv = lE[i]; kv = lC[i]; clearLease(i); issue(i, HOFF, tv, kv)
    :: after[i] == AD_RELEASE -> issue(i, RELS, lE[i], lC[i])   /* stays DEMOTING until the answer */
    :: after[i] == AD_STOP -> exitNode(i)
    fi;
    if :: after[i] != AD_RELEASE -> after[i] = 0 :: else -> skip fi
}

/* the address is gone */
inline finishDrop(i) {
    serving[i] = 0; dropping[i] = 0; dropAge[i] = 0; tail[i] = 0;
    if
    :: st[i] == DEMOTING -> fence(i); demotionFinished(i); nextCalls(i)
    :: else -> skip
    fi
}

inline handleShutdown(i) {
    shut[i] = 1;
    if
    :: st[i] == ACTIVE -> startDemote(i, AD_RELEASE)     /* release(epoch, counter of the last renew) */
    :: st[i] == DEMOTING && after[i] == AD_WATCH -> after[i] = AD_STOP
    :: st[i] == DEMOTING || st[i] == STOPPED -> skip
    :: else -> exitNode(i)
    fi
}

/* the node's monotonic clock advances one tick */
inline ageUp(i) {
    if :: st[i] == STANDBY || st[i] == CLAIMING -> chAge[i] = MIN(chAge[i] + 1, TIMEOUT) :: else -> skip fi;
    if :: st[i] == ACTIVE -> rAge[i] = MIN(rAge[i] + 1, RENEW_DEADLINE) :: else -> skip fi;
    if :: cK[i] != NONE -> cAge[i] = MIN(cAge[i] + 1, CALLDL) :: else -> skip fi;
    since[i] = MIN(since[i] + 1, INTERVAL)
}

inline callFailed(i) {
    abandonCall(i);             /* keeps the request in the network as a stale one */
    cK[i] = kv; cAge[i] = av;     /* restore for handleResult (abandonCall cleared them) */
    handleResult(i, 0)
}

inline ltick(i) {
    if
    :: st[i] == DOWN || st[i] == STOPPED ->
        if   /* ExecStopPost's `hotstandby release` after a crash */
        :: dropping[i] && dropAge[i] >= DEMOTE -> finishDrop(i)
        :: dropping[i] && dropAge[i] < DEMOTE -> dropAge[i]++
        :: else -> skip
        fi
    :: else ->
        if
        :: frozen[i] -> ageUp(i)    /* the clock runs; the process (and its demotion) does not */
        :: else ->
            if
            :: dropping[i] && dropAge[i] >= DEMOTE -> finishDrop(i)
            :: dropping[i] && dropAge[i] < DEMOTE -> dropAge[i]++
            :: else -> skip
            fi;
            ageUp(i);
            if
            :: cK[i] != NONE && cAge[i] >= CALLDL -> kv = cK[i]; av = cAge[i]; callFailed(i)
            :: else -> skip
            fi;
            fence(i); nextCalls(i)      /* handle(.tick) */
        fi
    fi
}

/* ---- the database ---- */
inline dbApply(i, kind, e, c, reply) {
    ok = 0;
    if
    :: kind == OBS -> ok = 1
    :: kind == REN ->
        if
        :: dE == e && dH == i -> freshCounter(); dC = fresh; ok = 1
        :: else -> skip
        fi
    :: kind == TKO ->
        if
        :: dE == e && dC == c && !dP -> freshEpoch(); dE = fresh; freshCounter(); dC = fresh; dH = i; dHo = NOBODY; ok = 1
        :: else -> skip
        fi
    :: kind == RELS ->
#ifdef MUT_RELEASE_NO_COUNTER
        if
        :: dE == e && dH == i -> freshEpoch(); dE = fresh; dH = NOBODY; ok = 1
        :: else -> skip
        fi
#else
        if
        :: dE == e && dH == i && dC == c -> freshEpoch(); dE = fresh; dH = NOBODY; ok = 1
        :: else -> skip
        fi
#endif
    :: kind == HOFF ->
        if
        :: dE == e && dH == i && dC == c ->
            freshEpoch(); dE = fresh; freshCounter(); dC = fresh; dH = 1 - i; dHo = NOBODY; ok = 1
        :: else -> skip
        fi
    fi;
    if
    :: reply ->
        pK[i] = kind; pOk[i] = ok;
        if
        :: kind == OBS -> pE[i] = dE; pH[i] = dH; pC[i] = dC; pP[i] = dP
        :: kind == REN -> pC[i] = (ok -> dC : 0); pHo[i] = dHo; pP[i] = dP
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
    qE[i] = 0; qC[i] = 0
}
inline applyStale(i) {
    tv = oK[i]; oK[i] = NONE;
    dbApply(i, tv, oE[i], oC[i], 0);
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
    :: cK[i] != NONE && cAge[i] >= CALLDL -> kv = cK[i]; av = cAge[i]; callFailed(i)
    :: else -> skip
    fi;
    fence(i);
    tail[i] = serving[i] && dropping[i];
    nextCalls(i)
}

#ifdef LIVENESS
#define FAULT (!settled)
#define mayRestart(i) (!settled || survivor == i)
#else
#define FAULT 1
#define mayRestart(i) 1
#endif

inline globalTick() {
    ltick(0); ltick(1);
#ifdef LIVENESS
    if
    :: settled -> liveTicks++; assert(liveTicks <= LIVE_H)
    :: else -> skip
    fi
#endif
}

#ifdef LIVENESS
inline settle(h, s) {
    settled = 1; survivor = s; liveTicks = 0;
    dP = 0;                                                  /* the operator resumes */
    if :: st[h] != DOWN -> crash(h) :: else -> skip fi;      /* the active goes down for good */
    if :: frozen[s] -> wake(s) :: else -> skip fi;
    oK[0] = NONE; oE[0] = 0; oC[0] = 0; oK[1] = NONE; oE[1] = 0; oC[1] = 0   /* no stale requests left */
}
#define settledFor(s) (settled && survivor == s)
#define quiet(s) (qK[s] == NONE && pK[s] == NONE)
#endif

active proctype world() {
    do
    /* time */
#ifdef LIVENESS
    :: d_step { !settled || quiet(survivor) -> globalTick(); check() }
#else
    :: d_step { globalTick(); check() }
#endif
#if DRIFT > 0
    :: d_step { rel < DRIFT -> rel++; ltick(0); check() }
    :: d_step { rel > 0 -> rel--; ltick(1); check() }
#endif
    /* the database applies a request */
    :: d_step { qK[0] != NONE -> applyCurrent(0); check() }
    :: d_step { qK[1] != NONE -> applyCurrent(1); check() }
    :: d_step { oK[0] != NONE -> applyStale(0); check() }
    :: d_step { oK[1] != NONE -> applyStale(1); check() }
    /* an answer arrives */
    :: d_step { pK[0] != NONE && cK[0] != NONE && !frozen[0] && st[0] != DOWN -> deliver(0); check() }
    :: d_step { pK[1] != NONE && cK[1] != NONE && !frozen[1] && st[1] != DOWN -> deliver(1); check() }
    /* the address removal finishes early */
    :: d_step { dropping[0] && !frozen[0] -> finishDrop(0); check() }
    :: d_step { dropping[1] && !frozen[1] -> finishDrop(1); check() }
    /* restart (systemd) after a crash or a stop, once the address is gone */
    :: d_step { (st[0] == DOWN || st[0] == STOPPED) && !serving[0] && mayRestart(0) -> restart(0); check() }
    :: d_step { (st[1] == DOWN || st[1] == STOPPED) && !serving[1] && mayRestart(1) -> restart(1); check() }
#ifdef LIVENESS
    :: d_step { !settled && dH != NOBODY -> settle(dH, 1 - dH); check() }
    :: d_step { !settled && dH == NOBODY -> settle(1, 0); check() }
    :: d_step { !settled && dH == NOBODY -> settle(0, 1); check() }
    :: settled && st[survivor] == ACTIVE && serving[survivor] -> break
#endif
    /* faults and operators (not after the environment settled) */
    /* the network loses a request or an answer */
    :: d_step { FAULT && qK[0] != NONE -> qK[0] = NONE; qE[0] = 0; qC[0] = 0 }
    :: d_step { FAULT && qK[1] != NONE -> qK[1] = NONE; qE[1] = 0; qC[1] = 0 }
    :: d_step { FAULT && oK[0] != NONE -> oK[0] = NONE; oE[0] = 0; oC[0] = 0 }
    :: d_step { FAULT && oK[1] != NONE -> oK[1] = NONE; oE[1] = 0; oC[1] = 0 }
    :: d_step { FAULT && pK[0] != NONE -> clearAnswer(0) }
    :: d_step { FAULT && pK[1] != NONE -> clearAnswer(1) }
    /* kill -9 or host death */
    :: d_step { FAULT && st[0] != DOWN && st[0] != STOPPED -> crash(0); check() }
    :: d_step { FAULT && st[1] != DOWN && st[1] != STOPPED -> crash(1); check() }
    /* SIGSTOP / SIGCONT */
    :: d_step { FAULT && !frozen[0] && st[0] != DOWN && st[0] != STOPPED -> frozen[0] = 1 }
    :: d_step { FAULT && !frozen[1] && st[1] != DOWN && st[1] != STOPPED -> frozen[1] = 1 }
    :: d_step { FAULT && frozen[0] -> wake(0); check() }
    :: d_step { FAULT && frozen[1] -> wake(1); check() }
    /* SIGTERM */
    :: d_step { FAULT && !frozen[0] && !shut[0] && st[0] != DOWN && st[0] != STOPPED -> fence(0); handleShutdown(0); nextCalls(0); check() }
    :: d_step { FAULT && !frozen[1] && !shut[1] && st[1] != DOWN && st[1] != STOPPED -> fence(1); handleShutdown(1); nextCalls(1); check() }
    /* operator: pause, resume, switchover */
    :: d_step { FAULT && !dP -> dP = 1 }
    :: d_step { FAULT && dP -> dP = 0 }
    :: d_step { FAULT && dH != NOBODY && dHo == NOBODY -> dHo = 1 - dH }
    od
}
