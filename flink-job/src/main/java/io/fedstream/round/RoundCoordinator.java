package io.fedstream.round;

import io.fedstream.avro.ChunkAggregated;
import io.fedstream.avro.CheckIn;
import io.fedstream.avro.EvalReport;
import io.fedstream.avro.Finish;
import io.fedstream.avro.Heartbeat;
import io.fedstream.avro.ModelManifest;
import io.fedstream.avro.Participant;
import io.fedstream.avro.RoundDecision;
import io.fedstream.avro.RoundPlan;
import io.fedstream.avro.RoundSummary;
import io.fedstream.avro.TrainingConfig;
import io.fedstream.avro.UpdateCommit;
import io.fedstream.chunk.ChunkLayout;
import io.fedstream.chunk.Digests;
import io.fedstream.job.JobSettings;
import io.fedstream.protocol.Topics;
import io.fedstream.protocol.serde.WireCodec;
import io.fedstream.protocol.serde.WireFormatException;
import io.fedstream.round.FederationState.ClientInfo;
import io.fedstream.round.FederationState.CommitInfo;
import io.fedstream.round.FederationState.EvalInfo;
import io.fedstream.round.FederationState.Phase;
import io.fedstream.round.FederationState.SummaryDraft;
import io.fedstream.round.FederationState.UpdateProgress;
import io.fedstream.validate.RejectReason;
import io.fedstream.validate.Rejects;
import io.fedstream.validate.Router;
import io.fedstream.wire.Routed;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.apache.avro.specific.SpecificRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The round lifecycle as a state machine over {@link FederationState}: gathering check-ins, seeded selection,
 * plans with deadlines, whole-update validation, close decisions (all committed, first K of an over-selection,
 * or quorum at the deadline, else a re-plan with a fresh selection), model commits, evaluation and summaries,
 * finish. It has no Flink types, so the whole lifecycle can be driven and checked directly;
 * {@link CoordinatorFunction} runs it in the job with Flink state and timers.
 */
public final class RoundCoordinator implements Serializable {
    private static final long serialVersionUID = 2L;
    private static final Logger LOG = LoggerFactory.getLogger(RoundCoordinator.class);

    private final JobSettings settings;

    public RoundCoordinator(JobSettings settings) {
        this.settings = settings;
    }

    private Topics topics() {
        return settings.topics();
    }

    /** Held records of rounds not started yet, at most; past it, such records are treated as if no round waited. */
    static final int MAX_HELD = 200_000;

    /**
     * Decided rounds whose participants' update digests are kept, so that a commit sent again for one of them
     * (a restarted sidecar, a producer retry) is ignored as a duplicate. The federation's state must not grow
     * with the number of rounds: a commit of an older round is treated as any late one (the late-updates
     * topic, nothing lost).
     */
    static final int REMEMBERED_ROUNDS = 16;

    public void handle(FederationState s, RoundEvent e, long now, CoordinatorOutput out) {
        switch (e.type) {
            case "Rejected" -> {
                if (e.clientId != null && hold(s, e, e.round)) {
                    return;
                }
                count(s.rejections, roundToCount(s, e.round));
                if (e.clientId != null && e.round == s.round && s.phase == Phase.TRAINING) {
                    taint(s, e.clientId, e.reason, "a chunk of the update was rejected: " + e.reason);
                }
                return;
            }
            case "ChunkSeen" -> {
                if (!hold(s, e, e.round)) {
                    onChunkSeen(s, e);
                }
                return;
            }
            case "ModelChunkStored" -> {
                onModelChunkStored(s, e, now, out);
                return;
            }
            default -> { }
        }
        SpecificRecord record;
        try {
            record = WireCodec.get().decode(e.value);
        } catch (WireFormatException ex) {
            // The router decoded this record already; failing here means a bug, not bad input.
            throw new IllegalStateException("router passed an undecodable record from " + e.source, ex);
        }
        if (record instanceof CheckIn c) {
            onCheckIn(s, c, e, now, out);
        } else if (record instanceof Heartbeat h) {
            ClientInfo info = s.clients.get(h.getClientId());
            if (info != null) {
                info.lastSeenMs = now;
                info.load = h.getLoad();
            }
        } else if (record instanceof ModelManifest m) {
            onManifest(s, m, e.value, now, out);
        } else if (record instanceof UpdateCommit c) {
            if (!hold(s, e, c.getRound())) {
                onCommit(s, c, e, now, out);
            }
        } else if (record instanceof ChunkAggregated c) {
            onChunkAggregated(s, c, now, out);
        } else if (record instanceof EvalReport r) {
            // An evaluation of model v is sent with the plan of round v (or the final evaluation when v is the last).
            if (!hold(s, e, r.getModelVersion())) {
                onEval(s, r, now, out);
            }
        }
    }

    /**
     * Keeps a record that names round {@code round} until that round starts, if it has not started yet and the
     * federation will get there; returns whether it was kept. Live clients cannot send such records (they train a
     * round once its plan is out), but a job restored from a checkpoint reads everything sent since, and a
     * later round's records can come before the replayed rounds that lead to them. Beyond the last round, or
     * with {@link #MAX_HELD} records held, a record is handled at once (a commit is then rejected as FUTURE_ROUND).
     */
    private boolean hold(FederationState s, RoundEvent e, int round) {
        boolean notStarted = round > s.round || (round == s.round && s.phase == Phase.GATHERING);
        if (!notStarted || round > settings.rounds() || s.phase == Phase.FINISHED || s.heldCount >= MAX_HELD) {
            return false;
        }
        if (round == settings.rounds() && !"EvalReport".equals(e.type)) {
            // Only the final model's evaluations belong to the round after the last.
            return false;
        }
        s.held.computeIfAbsent(round, k -> new ArrayList<>()).add(e);
        s.heldCount++;
        LOG.debug("[{}] {} from {} for round {} held until that round starts", settings.federation(), e.type, e.source, round);
        return true;
    }

    /** Handles, in arrival order, the records held for the round that has just started. */
    private void releaseHeld(FederationState s, long now, CoordinatorOutput out) {
        List<RoundEvent> waiting = s.held.remove(s.round);
        if (waiting == null) {
            return;
        }
        s.heldCount -= waiting.size();
        LOG.debug("[{}] round {}: handling {} records that came before it started", settings.federation(), s.round,
                waiting.size());
        for (RoundEvent e : waiting) {
            handle(s, e, now, out);
        }
    }

    private void onCheckIn(FederationState s, CheckIn c, RoundEvent e, long now, CoordinatorOutput out) {
        if (s.specFingerprint != null && !s.specFingerprint.equals(c.getSpecFingerprint())) {
            reject(s, e, RejectReason.SPEC_MISMATCH, "client " + c.getClientId() + " trains a model with spec "
                    + shortDigest(c.getSpecFingerprint()) + ", the federation's is " + shortDigest(s.specFingerprint),
                    c.getClientId(), -1, out);
        }
        ClientInfo info = s.clients.computeIfAbsent(c.getClientId(), k -> new ClientInfo());
        boolean back = info.lastSeenMs == 0 || now - info.lastSeenMs > settings.heartbeatTtl().toMillis();
        info.trainSamples = c.getTrainSamples();
        info.testSamples = c.getTestSamples();
        info.specFingerprint = c.getSpecFingerprint();
        info.lastSeenMs = now;
        // A load reported in the check-in counts like a heartbeat's: otherwise an overloaded client is eligible
        // (load 0) from its first check-in until its first heartbeat, and may be selected for round 0.
        Double load = c.getResources() == null ? null : c.getResources().get("load");
        if (load != null) {
            info.load = load;
        }
        if (back) {
            LOG.info("[{}] client {} checked in ({} train / {} test samples); {} clients known",
                    settings.federation(), c.getClientId(), c.getTrainSamples(), c.getTestSamples(), s.clients.size());
        }
        maybeStart(s, now, out);
    }

    private void onManifest(FederationState s, ModelManifest m, byte[] encoded, long now, CoordinatorOutput out) {
        if (s.initialManifest == null && m.getVersion() == 0) {
            s.initialManifest = encoded;
            s.specFingerprint = m.getSpecFingerprint();
            s.chunkCount = m.getChunkCount();
            s.totalFloats = m.getTotalFloats();
            s.chunkFloats = m.getChunkFloats();
            s.modelDigests.put(0, m.getDigest());
            LOG.info("[{}] initial model: {} floats in {} chunks, digest {}", settings.federation(),
                    m.getTotalFloats(), m.getChunkCount(), shortDigest(m.getDigest()));
            maybeStart(s, now, out);
        }
    }

    private void maybeStart(FederationState s, long now, CoordinatorOutput out) {
        if (s.phase != Phase.GATHERING || s.initialManifest == null) {
            return;
        }
        List<String> live = eligible(s, now);
        if (live.size() < settings.minClients()) {
            return;
        }
        s.round = 0;
        s.attempt = 1;
        startRound(s, ClientSelector.select(live, settings.selectedPerRound(), settings.seed(), 0), now, out);
    }

    /** Clients that train the federation's model, were heard from within the TTL and are not overloaded. */
    List<String> eligible(FederationState s, long now) {
        List<String> out = new ArrayList<>();
        for (Map.Entry<String, ClientInfo> e : s.clients.entrySet()) {
            ClientInfo c = e.getValue();
            boolean sameModel = s.specFingerprint != null && s.specFingerprint.equals(c.specFingerprint);
            boolean alive = now - c.lastSeenMs <= settings.heartbeatTtl().toMillis();
            boolean hasRoom = settings.maxLoad() <= 0 || c.load <= settings.maxLoad();
            if (sameModel && alive && hasRoom) {
                out.add(e.getKey());
            }
        }
        // Sorted whatever the map: Flink copies state maps into HashMaps (copy-on-write snapshots, restores).
        out.sort(null);
        return out;
    }

    /** Seed of a round's selection; a re-planned round draws again with another stream. */
    private long selectionSeed(int attempt) {
        return settings.seed() + 7919L * (attempt - 1);
    }

    private void startRound(FederationState s, List<String> selected, long now, CoordinatorOutput out) {
        s.phase = Phase.TRAINING;
        s.selected = new ArrayList<>(selected);
        s.planIssuedAtMs = s.attempt == 1 ? now : s.planIssuedAtMs;
        s.deadlineMs = now + settings.roundTimeout().toMillis();
        List<String> needModel = new ArrayList<>();
        for (String c : selected) {
            if (!s.modelSentTo.contains(c)) {
                needModel.add(c);
                s.modelSentTo.add(c);
            }
        }
        if (!needModel.isEmpty()) {
            out.distribute(s.round, s.chunkCount, needModel);
        }
        out.plan(s.round, new ChunkLayout(s.totalFloats, s.chunkFloats), selected, s.modelDigests.get(s.round));
        sendPlan(s, s.round, selected, false, now, out);
        out.timer(s.deadlineMs);
        LOG.debug("[{}] round {} attempt {} planned for {}", settings.federation(), s.round, s.attempt, selected);
        releaseHeld(s, now, out);
    }

    private void sendPlan(FederationState s, int round, List<String> selected, boolean evaluateOnly, long now,
                          CoordinatorOutput out) {
        RoundPlan plan = RoundPlan.newBuilder()
                .setFederation(settings.federation()).setRound(round).setAttempt(s.attempt)
                .setTotalRounds(settings.rounds())
                .setSelectedClients(selected).setEvaluateOnly(evaluateOnly)
                .setConfig(TrainingConfig.newBuilder().setLocalEpochs(settings.localEpochs())
                        .setBatchSize(settings.batchSize()).setLearningRate(settings.learningRate())
                        .setSeed(settings.seed() * 1000 + round).build())
                .setDeadlineMs(s.deadlineMs)
                .setBaseModelVersion(round).setBaseModelDigest(s.modelDigests.get(round))
                .setChunkCount(s.chunkCount).setChunkFloats(s.chunkFloats).setSpecFingerprint(s.specFingerprint)
                .setIssuedAtMs(now)
                .build();
        byte[] encoded = WireCodec.get().encode(plan);
        out.send(Routed.of(topics().control(), settings.federation(), encoded));
        for (String client : selected) {
            out.send(Routed.of(topics().clientModel(client), client, encoded));
        }
    }

    /** Called at a deadline: close the round with quorum, or re-plan it; or end a final evaluation. */
    public void onTimer(FederationState s, long timestampMs, long now, CoordinatorOutput out) {
        if (timestampMs < s.deadlineMs) {
            return;
        }
        if (s.phase == Phase.TRAINING) {
            if (s.commits.size() >= settings.minClientsPerRound()) {
                decide(s, "DEADLINE_QUORUM", now, out);
                return;
            }
            List<String> live = eligible(s, now);
            s.attempt++;
            List<String> fresh = ClientSelector.select(live, settings.selectedPerRound(), selectionSeed(s.attempt), s.round);
            // Updates from clients that are no longer selected are left out; the aggregators subtract them.
            s.commits.keySet().retainAll(fresh);
            s.commitOrder.retainAll(fresh);
            LOG.warn("[{}] round {} has {} of {} commits needed at its deadline; re-planned (attempt {}) with {}",
                    settings.federation(), s.round, s.commits.size(), settings.minClientsPerRound(), s.attempt, fresh);
            startRound(s, fresh, now, out);
        } else if (s.phase == Phase.FINAL_EVAL) {
            SummaryDraft last = s.drafts.get(settings.rounds() - 1);
            if (last != null) {
                LOG.warn("[{}] final evaluation deadline passed without reports from {}", settings.federation(),
                        missingEvaluators(last));
                emitSummary(s, last, now, out);
            }
        }
    }

    private void onChunkSeen(FederationState s, RoundEvent e) {
        if (s.phase != Phase.TRAINING || e.round != s.round || s.commits.containsKey(e.clientId)) {
            return;
        }
        UpdateProgress p = s.updates.get(e.clientId);
        if (p == null) {
            // The first update a client sends for a round is binding: the aggregators keep its chunks, so a resent
            // copy may only repeat it, never replace it.
            p = new UpdateProgress();
            p.sampleCount = e.sampleCount;
            p.baseModelDigest = e.baseModelDigest;
            s.updates.put(e.clientId, p);
        }
        ChunkLayout layout = new ChunkLayout(s.totalFloats, s.chunkFloats);
        if (e.chunk < 0 || e.chunk >= layout.chunkCount()) {
            taint(s, e.clientId, RejectReason.WRONG_LENGTH.name(), "chunk index " + e.chunk + " is outside 0.."
                    + (layout.chunkCount() - 1));
        } else if (e.offset != layout.offset(e.chunk) || e.length != layout.length(e.chunk)) {
            taint(s, e.clientId, RejectReason.WRONG_LENGTH.name(), "chunk " + e.chunk + " has " + e.length
                    + " values at offset " + e.offset + ", the model's has " + layout.length(e.chunk) + " at " + layout.offset(e.chunk));
        } else if (p.sampleCount != e.sampleCount) {
            taint(s, e.clientId, RejectReason.BAD_SAMPLE_COUNT.name(), "chunks disagree on the sample count");
        } else if (!p.baseModelDigest.equals(e.baseModelDigest)) {
            taint(s, e.clientId, RejectReason.STALE_UPDATE.name(), "chunks disagree on the base model");
        } else if (p.chunkDigests.containsKey(e.chunk) && !p.chunkDigests.get(e.chunk).equals(e.digest)) {
            taint(s, e.clientId, RejectReason.CONFLICT.name(), "chunk " + e.chunk + " was sent again with other content");
        } else {
            p.chunkDigests.put(e.chunk, e.digest);
        }
    }

    private static void taint(FederationState s, String client, String reason, String detail) {
        UpdateProgress p = s.updates.computeIfAbsent(client, k -> new UpdateProgress());
        if (p.taint == null) {
            p.taint = reason;
            p.taintDetail = detail;
        }
    }

    private void onCommit(FederationState s, UpdateCommit c, RoundEvent e, long now, CoordinatorOutput out) {
        String client = c.getClientId();
        RejectReason problem = null;
        String detail = null;
        CommitInfo previous = c.getRound() == s.round ? s.commits.get(client) : null;
        if (previous != null && previous.updateDigest.equals(c.getUpdateDigest())) {
            LOG.debug("[{}] duplicate commit of {} for round {} ignored", settings.federation(), client, c.getRound());
            return;
        }
        if (c.getUpdateDigest().equals(s.aggregatedDigests.getOrDefault(c.getRound(), Map.of()).get(client))) {
            LOG.debug("[{}] replayed commit of {} for closed round {} ignored", settings.federation(), client, c.getRound());
            return;
        }
        if (s.phase == Phase.GATHERING || c.getRound() > s.round) {
            problem = RejectReason.FUTURE_ROUND;
            detail = "round " + c.getRound() + " has not started (current round " + s.round + ")";
        } else if (c.getRound() < s.round || s.phase != Phase.TRAINING) {
            problem = RejectReason.LATE_UPDATE;
            detail = "round " + c.getRound() + " is closed";
        } else if (!s.clients.containsKey(client)) {
            problem = RejectReason.UNKNOWN_CLIENT;
            detail = "client " + client + " never checked in";
        } else if (!s.selected.contains(client)) {
            problem = RejectReason.NOT_SELECTED;
            detail = "client " + client + " is not selected for round " + c.getRound() + " (attempt " + s.attempt + ")";
        } else if (!s.specFingerprint.equals(c.getSpecFingerprint())) {
            problem = RejectReason.SPEC_MISMATCH;
            detail = "spec fingerprint " + shortDigest(c.getSpecFingerprint()) + " differs from the federation's "
                    + shortDigest(s.specFingerprint);
        } else if (!s.modelDigests.get(s.round).equals(c.getBaseModelDigest())) {
            problem = RejectReason.STALE_UPDATE;
            detail = "trained on model " + shortDigest(c.getBaseModelDigest()) + ", round " + s.round + " uses "
                    + shortDigest(s.modelDigests.get(s.round));
        } else if (c.getSampleCount() <= 0 || c.getSampleCount() > Router.MAX_SAMPLES) {
            problem = RejectReason.BAD_SAMPLE_COUNT;
            detail = "sample count " + c.getSampleCount() + " is outside 1.." + Router.MAX_SAMPLES;
        } else if (c.getChunkCount() != s.chunkCount) {
            problem = RejectReason.WRONG_LENGTH;
            detail = "update has " + c.getChunkCount() + " chunks, the model " + s.chunkCount;
        } else if (previous != null) {
            problem = RejectReason.CONFLICT;
            detail = "client " + client + " already committed a different update for round " + c.getRound();
        } else {
            String[] wrong = checkUpdate(s, c);
            if (wrong != null) {
                problem = RejectReason.valueOf(wrong[0]);
                detail = wrong[1];
            }
        }
        if (problem != null) {
            reject(s, e, problem, detail, client, c.getRound(), out);
            return;
        }
        CommitInfo info = new CommitInfo();
        info.sampleCount = c.getSampleCount();
        info.trainLoss = c.getTrainLoss();
        info.trainAccuracy = c.getTrainAccuracy();
        info.updateDigest = c.getUpdateDigest();
        s.commits.put(client, info);
        s.commitOrder.add(client);
        boolean overSelected = s.selected.size() > settings.clientsPerRound();
        if (overSelected && s.commits.size() >= settings.clientsPerRound()) {
            decide(s, "FIRST_K", now, out);
        } else if (s.commits.keySet().containsAll(s.selected)) {
            decide(s, "ALL_COMMITTED", now, out);
        }
    }

    /** The whole update behind a commit, as the router saw it: complete, clean, and hashing to the commit's digest. */
    private String[] checkUpdate(FederationState s, UpdateCommit c) {
        UpdateProgress p = s.updates.get(c.getClientId());
        if (p != null && p.taint != null) {
            return new String[] {p.taint, p.taintDetail};
        }
        if (p == null || p.chunkDigests.size() != s.chunkCount) {
            return new String[] {RejectReason.INCOMPLETE_UPDATE.name(), "only " + (p == null ? 0 : p.chunkDigests.size())
                    + " of " + s.chunkCount + " chunks of the update arrived"};
        }
        if (p.sampleCount != c.getSampleCount()) {
            return new String[] {RejectReason.BAD_SAMPLE_COUNT.name(), "the commit says " + c.getSampleCount()
                    + " samples, its chunks " + p.sampleCount};
        }
        if (!p.baseModelDigest.equals(c.getBaseModelDigest())) {
            return new String[] {RejectReason.STALE_UPDATE.name(), "the commit and its chunks name different base models"};
        }
        String digest = Digests.composite(s.specFingerprint, new ArrayList<>(p.chunkDigests.values()));
        if (!digest.equals(c.getUpdateDigest())) {
            return new String[] {RejectReason.DIGEST_MISMATCH.name(), "update digest " + shortDigest(c.getUpdateDigest())
                    + " does not match its chunks (" + shortDigest(digest) + ")"};
        }
        return null;
    }

    private void reject(FederationState s, RoundEvent e, RejectReason reason, String detail, String client, int round,
                        CoordinatorOutput out) {
        boolean late = reason == RejectReason.LATE_UPDATE || reason == RejectReason.STALE_UPDATE;
        LOG.debug("[{}] {} {} from {}: {}", settings.federation(), late ? "late" : "rejected", reason, e.source, detail);
        count(late ? s.lateUpdates : s.rejections, roundToCount(s, round));
        out.rejected(reason.name(), late);
        String[] src = parseSource(e.source);
        Routed r = Rejects.deadLetter(topics(), reason, detail, src[0], Integer.parseInt(src[1]), Long.parseLong(src[2]),
                client, round < 0 ? null : round, e.value);
        out.send(late ? new Routed(topics().late(), r.key, r.value) : r);
    }

    /**
     * The summary that counts a rejected record: that of the round the record names while its summary is still
     * open (a late update usually arrives just after its round closed), else the round in progress.
     */
    private static int roundToCount(FederationState s, int named) {
        return named >= 0 && named <= s.round && s.drafts.containsKey(named) ? named : s.round;
    }

    private static void count(Map<Integer, Integer> counts, int round) {
        counts.merge(round, 1, Integer::sum);
    }

    /** "topic/partition@offset" back into its parts. */
    static String[] parseSource(String source) {
        int at = source.lastIndexOf('@');
        int slash = source.lastIndexOf('/', at);
        return new String[] {source.substring(0, slash), source.substring(slash + 1, at), source.substring(at + 1)};
    }

    private void decide(FederationState s, String reason, long now, CoordinatorOutput out) {
        List<String> chosen = new ArrayList<>(reason.equals("FIRST_K")
                ? s.commitOrder.subList(0, settings.clientsPerRound()) : s.commitOrder);
        chosen.sort(null);
        long total = 0;
        for (String client : chosen) {
            total += s.commits.get(client).sampleCount;
        }
        List<Participant> participants = new ArrayList<>();
        for (String client : chosen) {
            long n = s.commits.get(client).sampleCount;
            participants.add(new Participant(client, n, (double) n / total));
        }
        s.commits.keySet().retainAll(chosen);
        Map<String, String> digests = new java.util.TreeMap<>();
        for (String client : chosen) {
            digests.put(client, s.commits.get(client).updateDigest);
        }
        s.aggregatedDigests.put(s.round, digests);
        int oldest = s.round - REMEMBERED_ROUNDS + 1;
        s.aggregatedDigests.keySet().removeIf(round -> round < oldest);
        int next = s.round + 1;
        List<String> live = eligible(s, now);
        List<String> recipients = next < settings.rounds()
                ? ClientSelector.select(live, settings.selectedPerRound(), settings.seed(), next)
                : live;
        RoundDecision d = RoundDecision.newBuilder()
                .setFederation(settings.federation()).setRound(s.round).setBaseModelVersion(s.round)
                .setChunkCount(s.chunkCount).setParticipants(participants).setTotalSamples(total)
                .setNextRecipients(recipients).setReason(reason).setDecidedAtMs(now)
                .build();
        s.phase = Phase.AGGREGATING;
        s.decidedAtMs = now;
        s.nextRecipients = new ArrayList<>(recipients);
        s.chunkDigests.clear();
        s.storedChunkDigests.clear();
        SummaryDraft draft = new SummaryDraft();
        draft.round = s.round;
        draft.participants = chosen;
        draft.closeReason = reason;
        draft.attempts = s.attempt;
        for (String c : s.selected) {
            if (!chosen.contains(c)) {
                draft.stragglers.add(c);
            }
        }
        s.drafts.put(s.round, draft);
        out.send(Routed.of(topics().control(), settings.federation(), WireCodec.get().encode(d)));
        out.decide(d);
        // Evaluations of the previous model that never came (a client died) do not hold its summary any longer.
        SummaryDraft previous = s.drafts.get(s.round - 1);
        if (previous != null && previous.modelDigest != null) {
            emitSummary(s, previous, now, out);
        }
    }

    private void onChunkAggregated(FederationState s, ChunkAggregated c, long now, CoordinatorOutput out) {
        if (s.phase != Phase.AGGREGATING || c.getRound() != s.round || c.getVersion() != s.round + 1) {
            return;
        }
        if (s.chunkDigests.put(c.getChunkIndex(), c.getChunkDigest()) == null && c.getRejectedRecords() > 0) {
            // Update chunks the aggregator rejected (not selected, wrong length, ...) count in this round's summary.
            s.rejections.merge(s.round, c.getRejectedRecords(), Integer::sum);
        }
        s.lastChunkAtMs = now;
        commitModelWhenStored(s, now, out);
    }

    /** A chunk of the model being aggregated, read back from the models topic (so readable there). */
    private void onModelChunkStored(FederationState s, RoundEvent e, long now, CoordinatorOutput out) {
        if (s.phase != Phase.AGGREGATING || e.round != s.round + 1) {
            return;
        }
        s.storedChunkDigests.computeIfAbsent(e.chunk, k -> new TreeSet<>()).add(e.digest);
        commitModelWhenStored(s, now, out);
    }

    /**
     * Writes the manifest of the new model once every chunk's completion notice has come and the very chunk it
     * names is readable on the models topic. The notices overtake the 1 MiB chunks on their way to the broker,
     * so a manifest written on the notices alone could be read before the last chunks of its model.
     */
    private void commitModelWhenStored(FederationState s, long now, CoordinatorOutput out) {
        if (s.chunkDigests.size() < s.chunkCount) {
            return;
        }
        for (Map.Entry<Integer, String> done : s.chunkDigests.entrySet()) {
            if (!s.storedChunkDigests.getOrDefault(done.getKey(), Set.of()).contains(done.getValue())) {
                return;
            }
        }
        List<String> ordered = new ArrayList<>();
        for (int i = 0; i < s.chunkCount; i++) {
            ordered.add(s.chunkDigests.get(i));
        }
        int version = s.round + 1;
        String digest = Digests.composite(s.specFingerprint, ordered);
        s.modelDigests.put(version, digest);
        // Plans and commits name only the model of the round that runs (the previous one is kept for good measure).
        s.modelDigests.keySet().removeIf(v -> v < version - 1);
        ModelManifest initial = decodeManifest(s.initialManifest);
        ModelManifest manifest = ModelManifest.newBuilder(initial)
                .setVersion(version).setProducedByRound(s.round).setDigest(digest).setCreatedAtMs(now).build();
        out.send(Routed.of(topics().models(), Topics.MANIFEST_KEY, WireCodec.get().encode(manifest)));

        SummaryDraft draft = s.drafts.get(s.round);
        for (String client : draft.participants) {
            draft.totalSamples += s.commits.get(client).sampleCount;
        }
        for (String client : draft.participants) {
            CommitInfo ci = s.commits.get(client);
            draft.trainLoss += ci.trainLoss * ci.sampleCount / draft.totalSamples;
            draft.trainAccuracy += ci.trainAccuracy * ci.sampleCount / draft.totalSamples;
        }
        draft.aggregationTimeMs = now - s.decidedAtMs;
        draft.roundTimeMs = now - s.planIssuedAtMs;
        draft.modelVersion = version;
        draft.modelDigest = digest;
        draft.evaluators = new ArrayList<>(s.nextRecipients);

        s.round = version;
        s.attempt = 1;
        s.commits.clear();
        s.commitOrder.clear();
        s.updates.clear();
        // Only now, with the new model committed, do its copies go to the next round's clients. Written at each
        // chunk's completion instead, the copies (clients x model size) queued ahead of the last completion
        // notices and held the manifest back by seconds.
        out.distribute(version, s.chunkCount, s.nextRecipients);
        s.modelSentTo = new ArrayList<>(s.nextRecipients);
        if (version < settings.rounds()) {
            startRound(s, s.nextRecipients, now, out);
        } else {
            s.phase = Phase.FINAL_EVAL;
            s.planIssuedAtMs = now;
            s.deadlineMs = now + settings.roundTimeout().toMillis();
            sendPlan(s, version, s.nextRecipients, true, now, out);
            out.timer(s.deadlineMs);
            releaseHeld(s, now, out);
        }
        if (draft.evaluators.isEmpty()) {
            emitSummary(s, draft, now, out);
        }
    }

    private void onEval(FederationState s, EvalReport r, long now, CoordinatorOutput out) {
        SummaryDraft draft = s.drafts.get(r.getModelVersion() - 1);
        if (draft == null || draft.modelDigest == null || !draft.evaluators.contains(r.getClientId())
                || draft.evals.containsKey(r.getClientId()) || !draft.modelDigest.equals(r.getModelDigest())) {
            return;
        }
        EvalInfo info = new EvalInfo();
        info.testSamples = r.getTestSamples();
        info.loss = r.getLoss();
        info.accuracy = r.getAccuracy();
        draft.evals.put(r.getClientId(), info);
        if (draft.evals.keySet().containsAll(draft.evaluators)) {
            emitSummary(s, draft, now, out);
        }
    }

    private static List<String> missingEvaluators(SummaryDraft d) {
        List<String> missing = new ArrayList<>(d.evaluators);
        missing.removeAll(d.evals.keySet());
        return missing;
    }

    private void emitSummary(FederationState s, SummaryDraft d, long now, CoordinatorOutput out) {
        // In client order, so the same reports give the same sums after a restore (state maps come back as HashMaps).
        List<EvalInfo> reports = new java.util.TreeMap<>(d.evals).values().stream().toList();
        long evalSamples = 0;
        for (EvalInfo e : reports) {
            evalSamples += e.testSamples;
        }
        double loss = 0;
        double acc = 0;
        for (EvalInfo e : reports) {
            loss += e.loss * e.testSamples / evalSamples;
            acc += e.accuracy * e.testSamples / evalSamples;
        }
        if (evalSamples == 0) {
            loss = Double.NaN;
            acc = Double.NaN;
        }
        RoundSummary summary = RoundSummary.newBuilder()
                .setFederation(settings.federation()).setRound(d.round).setParticipants(d.participants)
                .setTotalSamples(d.totalSamples).setTrainLoss(d.trainLoss).setTrainAccuracy(d.trainAccuracy)
                .setEvalLoss(loss).setEvalAccuracy(acc).setEvalSamples(evalSamples).setEvalClients(d.evals.size())
                .setAggregationTimeMs(d.aggregationTimeMs).setRoundTimeMs(d.roundTimeMs)
                .setModelVersion(d.modelVersion).setModelDigest(d.modelDigest)
                .setRejections(s.rejections.getOrDefault(d.round, 0))
                .setLateUpdates(s.lateUpdates.getOrDefault(d.round, 0))
                .setStragglers(d.stragglers).setCloseReason(d.closeReason).setAttempts(d.attempts)
                .setTimestampMs(now)
                .build();
        out.send(Routed.of(topics().metrics(), settings.federation(), WireCodec.get().encode(summary)));
        s.drafts.remove(d.round);
        s.rejections.remove(d.round);
        s.lateUpdates.remove(d.round);
        LOG.info("[{}] round {}: {} participants{}, train loss {}, eval accuracy {}, round {} ms, aggregation {} ms, "
                        + "{} rejected, {} late, model {}",
                settings.federation(), d.round, d.participants.size(),
                d.stragglers.isEmpty() ? "" : " (stragglers " + d.stragglers + ", " + d.closeReason + ")",
                String.format("%.4f", d.trainLoss), String.format("%.4f", acc), d.roundTimeMs, d.aggregationTimeMs,
                summary.getRejections(), summary.getLateUpdates(), shortDigest(d.modelDigest));
        if (s.phase == Phase.FINAL_EVAL && d.modelVersion == settings.rounds()) {
            finish(s, d, acc, now, out);
        }
    }

    private void finish(FederationState s, SummaryDraft last, double accuracy, long now, CoordinatorOutput out) {
        Finish f = Finish.newBuilder()
                .setFederation(settings.federation()).setRounds(settings.rounds())
                .setFinalModelVersion(last.modelVersion).setFinalModelDigest(last.modelDigest)
                .setFinalEvalAccuracy(accuracy).setReason("COMPLETED").setFinishedAtMs(now)
                .build();
        byte[] encoded = WireCodec.get().encode(f);
        out.send(Routed.of(topics().control(), settings.federation(), encoded));
        out.send(Routed.of(topics().metrics(), settings.federation(), encoded));
        for (String client : s.clients.keySet()) {
            out.send(Routed.of(topics().clientModel(client), client, encoded));
        }
        s.phase = Phase.FINISHED;
        LOG.info("[{}] finished after {} rounds: final model {} eval accuracy {}", settings.federation(),
                settings.rounds(), shortDigest(last.modelDigest), String.format("%.4f", accuracy));
    }

    private static ModelManifest decodeManifest(byte[] encoded) {
        try {
            return WireCodec.get().decode(encoded, ModelManifest.class);
        } catch (WireFormatException e) {
            throw new IllegalStateException("stored manifest does not decode", e);
        }
    }

    static String shortDigest(String digest) {
        return digest == null ? "-" : digest.substring(0, Math.min(12, digest.length()));
    }
}
