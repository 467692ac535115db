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
import io.fedstream.validate.RejectReason;
import io.fedstream.validate.Rejects;
import io.fedstream.wire.Routed;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.avro.specific.SpecificRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The round lifecycle as a state machine over {@link FederationState}: gathering check-ins, seeded selection,
 * plans, commits, close decisions, model commits, evaluation and summaries, finish. It has no Flink types, so
 * the whole lifecycle can be driven and checked directly; {@link CoordinatorFunction} runs it in the job.
 */
public final class RoundCoordinator implements Serializable {
    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(RoundCoordinator.class);

    private final JobSettings settings;

    public RoundCoordinator(JobSettings settings) {
        this.settings = settings;
    }

    private Topics topics() {
        return settings.topics();
    }

    public void handle(FederationState s, RoundEvent e, long now, CoordinatorOutput out) {
        if (e.type.equals("Rejected")) {
            if (e.round >= 0) {
                s.rejections.merge(e.round, 1, Integer::sum);
            }
            return;
        }
        SpecificRecord record;
        try {
            record = WireCodec.get().decode(e.value);
        } catch (WireFormatException ex) {
            // The router decoded this record already; failing here means a bug, not bad input.
            throw new IllegalStateException("router passed an undecodable record from " + e.source, ex);
        }
        if (record instanceof CheckIn c) {
            onCheckIn(s, c, now, out);
        } else if (record instanceof Heartbeat h) {
            ClientInfo info = s.clients.get(h.getClientId());
            if (info != null) {
                info.lastSeenMs = now;
            }
        } else if (record instanceof ModelManifest m) {
            onManifest(s, m, e.value, now, out);
        } else if (record instanceof UpdateCommit c) {
            onCommit(s, c, e, now, out);
        } else if (record instanceof ChunkAggregated c) {
            onChunkAggregated(s, c, now, out);
        } else if (record instanceof EvalReport r) {
            onEval(s, r, now, out);
        }
    }

    private void onCheckIn(FederationState s, CheckIn c, long now, CoordinatorOutput out) {
        ClientInfo info = s.clients.computeIfAbsent(c.getClientId(), k -> new ClientInfo());
        boolean isNew = info.lastSeenMs == 0;
        info.trainSamples = c.getTrainSamples();
        info.testSamples = c.getTestSamples();
        info.specFingerprint = c.getSpecFingerprint();
        info.lastSeenMs = now;
        if (isNew) {
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
        long matching = s.clients.values().stream().filter(c -> s.specFingerprint.equals(c.specFingerprint)).count();
        if (matching < settings.minClients()) {
            return;
        }
        List<String> selected = ClientSelector.select(eligible(s), settings.clientsPerRound(), settings.seed(), 0);
        s.round = 0;
        out.distribute(0, s.chunkCount, selected);
        startRound(s, selected, now, out);
    }

    /** Clients that train the federation's model. */
    private List<String> eligible(FederationState s) {
        List<String> out = new ArrayList<>();
        for (Map.Entry<String, ClientInfo> e : s.clients.entrySet()) {
            if (s.specFingerprint.equals(e.getValue().specFingerprint)) {
                out.add(e.getKey());
            }
        }
        return out;
    }

    private void startRound(FederationState s, List<String> selected, long now, CoordinatorOutput out) {
        s.phase = Phase.TRAINING;
        s.selected = new ArrayList<>(selected);
        s.commits.clear();
        s.chunkDigests.clear();
        s.planIssuedAtMs = now;
        out.plan(s.round, s.chunkCount, selected);
        sendPlan(s, s.round, selected, false, now, out);
        LOG.debug("[{}] round {} planned for {}", settings.federation(), s.round, selected);
    }

    private void sendPlan(FederationState s, int round, List<String> selected, boolean evaluateOnly, long now,
                          CoordinatorOutput out) {
        RoundPlan plan = RoundPlan.newBuilder()
                .setFederation(settings.federation()).setRound(round).setTotalRounds(settings.rounds())
                .setSelectedClients(selected).setEvaluateOnly(evaluateOnly)
                .setConfig(TrainingConfig.newBuilder().setLocalEpochs(settings.localEpochs())
                        .setBatchSize(settings.batchSize()).setLearningRate(settings.learningRate())
                        .setSeed(settings.seed() * 1000 + round).build())
                .setDeadlineMs(now + settings.roundTimeout().toMillis())
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

    private void onCommit(FederationState s, UpdateCommit c, RoundEvent e, long now, CoordinatorOutput out) {
        String client = c.getClientId();
        RejectReason problem = null;
        String detail = null;
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
            detail = "client " + client + " is not selected for round " + c.getRound();
        } else if (!s.specFingerprint.equals(c.getSpecFingerprint())) {
            problem = RejectReason.SPEC_MISMATCH;
            detail = "spec fingerprint " + c.getSpecFingerprint() + " differs from the federation's";
        } else if (!s.modelDigests.get(s.round).equals(c.getBaseModelDigest())) {
            problem = RejectReason.STALE_UPDATE;
            detail = "trained on model " + shortDigest(c.getBaseModelDigest()) + ", round " + s.round + " uses "
                    + shortDigest(s.modelDigests.get(s.round));
        } else if (c.getChunkCount() != s.chunkCount) {
            problem = RejectReason.WRONG_LENGTH;
            detail = "update has " + c.getChunkCount() + " chunks, the model " + s.chunkCount;
        }
        CommitInfo previous = s.commits.get(client);
        if (problem == null && previous != null) {
            if (previous.updateDigest.equals(c.getUpdateDigest())) {
                LOG.debug("[{}] duplicate commit of {} for round {} ignored", settings.federation(), client, c.getRound());
                return;
            }
            problem = RejectReason.CONFLICT;
            detail = "client " + client + " already committed a different update for round " + c.getRound();
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
        if (s.commits.keySet().containsAll(s.selected)) {
            decide(s, "ALL_COMMITTED", now, out);
        }
    }

    private void reject(FederationState s, RoundEvent e, RejectReason reason, String detail, String client, int round,
                        CoordinatorOutput out) {
        LOG.debug("[{}] rejected {} from {}: {}", settings.federation(), reason, e.source, detail);
        s.rejections.merge(round, 1, Integer::sum);
        String[] src = parseSource(e.source);
        out.send(Rejects.deadLetter(topics(), reason, detail, src[0], Integer.parseInt(src[1]), Long.parseLong(src[2]),
                client, round, e.value));
    }

    /** "topic/partition@offset" back into its parts. */
    static String[] parseSource(String source) {
        int at = source.lastIndexOf('@');
        int slash = source.lastIndexOf('/', at);
        return new String[] {source.substring(0, slash), source.substring(slash + 1, at), source.substring(at + 1)};
    }

    private void decide(FederationState s, String reason, long now, CoordinatorOutput out) {
        long total = 0;
        for (String client : s.selected) {
            total += s.commits.get(client).sampleCount;
        }
        List<Participant> participants = new ArrayList<>();
        for (Map.Entry<String, CommitInfo> e : s.commits.entrySet()) {
            participants.add(new Participant(e.getKey(), e.getValue().sampleCount, (double) e.getValue().sampleCount / total));
        }
        int next = s.round + 1;
        List<String> recipients = next < settings.rounds()
                ? ClientSelector.select(eligible(s), settings.clientsPerRound(), settings.seed(), next)
                : eligible(s);
        RoundDecision d = RoundDecision.newBuilder()
                .setFederation(settings.federation()).setRound(s.round).setBaseModelVersion(s.round)
                .setChunkCount(s.chunkCount).setParticipants(participants).setTotalSamples(total)
                .setNextRecipients(recipients).setReason(reason).setDecidedAtMs(now)
                .build();
        s.phase = Phase.AGGREGATING;
        s.decidedAtMs = now;
        s.nextRecipients = new ArrayList<>(recipients);
        out.send(Routed.of(topics().control(), settings.federation(), WireCodec.get().encode(d)));
        out.decide(d);
    }

    private void onChunkAggregated(FederationState s, ChunkAggregated c, long now, CoordinatorOutput out) {
        if (s.phase != Phase.AGGREGATING || c.getRound() != s.round || c.getVersion() != s.round + 1) {
            return;
        }
        s.chunkDigests.put(c.getChunkIndex(), c.getChunkDigest());
        s.lastChunkAtMs = now;
        if (s.chunkDigests.size() < s.chunkCount) {
            return;
        }
        List<String> ordered = new ArrayList<>();
        for (int i = 0; i < s.chunkCount; i++) {
            ordered.add(s.chunkDigests.get(i));
        }
        int version = s.round + 1;
        String digest = Digests.composite(s.specFingerprint, ordered);
        s.modelDigests.put(version, digest);
        ModelManifest initial = decodeManifest(s.initialManifest);
        ModelManifest manifest = ModelManifest.newBuilder(initial)
                .setVersion(version).setProducedByRound(s.round).setDigest(digest).setCreatedAtMs(now).build();
        out.send(Routed.of(topics().models(), "manifest", WireCodec.get().encode(manifest)));

        SummaryDraft draft = new SummaryDraft();
        draft.round = s.round;
        draft.participants = new ArrayList<>(s.commits.keySet());
        for (CommitInfo ci : s.commits.values()) {
            draft.totalSamples += ci.sampleCount;
        }
        for (CommitInfo ci : s.commits.values()) {
            draft.trainLoss += ci.trainLoss * ci.sampleCount / draft.totalSamples;
            draft.trainAccuracy += ci.trainAccuracy * ci.sampleCount / draft.totalSamples;
        }
        draft.aggregationTimeMs = now - s.decidedAtMs;
        draft.roundTimeMs = now - s.planIssuedAtMs;
        draft.modelVersion = version;
        draft.modelDigest = digest;
        draft.evaluators = new ArrayList<>(s.nextRecipients);
        s.drafts.put(s.round, draft);

        s.round = version;
        if (version < settings.rounds()) {
            startRound(s, s.nextRecipients, now, out);
        } else {
            s.phase = Phase.FINAL_EVAL;
            s.planIssuedAtMs = now;
            sendPlan(s, version, s.nextRecipients, true, now, out);
        }
    }

    private void onEval(FederationState s, EvalReport r, long now, CoordinatorOutput out) {
        SummaryDraft draft = s.drafts.get(r.getModelVersion() - 1);
        if (draft == null || !draft.evaluators.contains(r.getClientId()) || draft.evals.containsKey(r.getClientId())
                || !draft.modelDigest.equals(r.getModelDigest())) {
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

    private void emitSummary(FederationState s, SummaryDraft d, long now, CoordinatorOutput out) {
        long evalSamples = 0;
        for (EvalInfo e : d.evals.values()) {
            evalSamples += e.testSamples;
        }
        double loss = 0;
        double acc = 0;
        for (EvalInfo e : d.evals.values()) {
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
                .setRejections(s.rejections.getOrDefault(d.round, 0)).setTimestampMs(now)
                .build();
        out.send(Routed.of(topics().metrics(), settings.federation(), WireCodec.get().encode(summary)));
        s.drafts.remove(d.round);
        LOG.info("[{}] round {}: {} participants, train loss {}, eval accuracy {}, round {} ms, aggregation {} ms, model {}",
                settings.federation(), d.round, d.participants.size(), String.format("%.4f", d.trainLoss),
                String.format("%.4f", acc), d.roundTimeMs, d.aggregationTimeMs, shortDigest(d.modelDigest));
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
