package io.fedstream.aggregate;

import io.fedstream.chunk.Digests;
import java.nio.ByteBuffer;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.flink.api.common.JobID;
import org.apache.flink.runtime.state.KeyGroupRangeAssignment;

/**
 * Hands a chunk's bytes from the router to the chunk aggregator in memory, when the aggregator subtask that owns
 * the chunk's key runs in the same JVM (always in the embedded setup, and on a TaskManager for the subtasks it
 * holds). Only a reference then crosses Flink's keyBy exchange, not the 1 MiB of values: the exchange would
 * copy them into network buffers, out again and into a new array, about a tenth of the machine's work in a round
 * of the benchmark. The routing, the keying and the state are Flink's as before; only the bytes take a shortcut.
 *
 * <p>Every handoff can fall back: the router sends the bytes through the exchange when the owning subtask has not
 * registered here (it runs elsewhere, or has not opened yet) or when the bytes parked here would exceed {@link
 * #BUDGET_BYTES}; the aggregator reads the record again from Kafka, where it lies at the offset it carries, when
 * its bytes are not here (a checkpoint restored the reference but not this JVM's memory, or a restarted subtask
 * dropped what an earlier attempt had parked). Parked bytes are never snapshotted: with aligned checkpoints every
 * reference emitted before a barrier is taken before the aggregator's snapshot.
 *
 * <p>The other way round, the aggregators note the model chunks they hashed and wrote ({@link #wrote}), so that the
 * router, reading one back from the models topic, checks it by a CRC32C of its bytes instead of a second SHA-256
 * ({@link #readBackMatches}); a chunk not noted here is hashed as before.
 *
 * <p>Scope: one registry per job and class loader. Jobs of one session cluster load their own copy of this class;
 * jobs that share a class path (MiniClusters in one JVM) are told apart by their {@link JobID}.
 */
public final class LocalHandoff {
    /**
     * At most this many bytes wait here per job: 256 MiB, or an eighth of the heap if that is less. Beyond it,
     * chunks travel through the exchange as before, where Flink's network buffers bound them.
     */
    public static final long BUDGET_BYTES = Math.min(256L * 1024 * 1024, Runtime.getRuntime().maxMemory() / 8);

    private static final Map<JobID, Registry> JOBS = new ConcurrentHashMap<>();
    private static final AtomicLong NEXT_ID = new AtomicLong(1);

    private LocalHandoff() {}

    /** The aggregator subtasks of one job that run in this JVM, and the bytes waiting for them. */
    private static final class Registry {
        final int parallelism;
        final int maxParallelism;
        /** Subtask index to its attempt number. */
        final Map<Integer, Integer> subtasks = new ConcurrentHashMap<>();
        final Map<Long, Parked> parked = new ConcurrentHashMap<>();
        final AtomicLong parkedBytes = new AtomicLong();
        /** Model chunks written here and not yet read back, by {@link ChunkInput#key} of (version, chunk). */
        final Map<Long, Written> written = new ConcurrentHashMap<>();
        final AtomicInteger newestWritten = new AtomicInteger(Integer.MIN_VALUE);

        Registry(int parallelism, int maxParallelism) {
            this.parallelism = parallelism;
            this.maxParallelism = maxParallelism;
        }

        /** Removes what is parked under {@code id}, keeping the count of parked bytes; null if nothing is. */
        Parked unpark(long id) {
            Parked p = parked.remove(id);
            if (p != null) {
                parkedBytes.addAndGet(-p.bytes().length);
            }
            return p;
        }
    }

    private record Parked(int subtask, byte[] bytes) { }

    private record Written(int version, String digest, int crc) { }

    /**
     * An aggregator subtask opens here. Whatever an earlier attempt of it left parked is dropped: its references
     * will not come again, or, if they do, the records are read again from Kafka.
     */
    public static void register(JobID job, int subtask, int attempt, int parallelism, int maxParallelism) {
        Registry r = JOBS.compute(job, (k, existing) ->
                existing != null && existing.parallelism == parallelism && existing.maxParallelism == maxParallelism
                        ? existing : new Registry(parallelism, maxParallelism));
        r.subtasks.put(subtask, attempt);
        for (Map.Entry<Long, Parked> e : r.parked.entrySet()) {
            if (e.getValue().subtask() == subtask) {
                r.unpark(e.getKey());
            }
        }
    }

    /** An aggregator subtask closes; the job's registry goes with its last subtask here. */
    public static void deregister(JobID job, int subtask, int attempt) {
        JOBS.computeIfPresent(job, (k, r) -> {
            r.subtasks.remove(subtask, attempt);
            return r.subtasks.isEmpty() ? null : r;
        });
    }

    /**
     * Parks {@code bytes} for the aggregator of {@code key} (the keyBy key) and returns the reference to send in
     * their place, or 0 if they must travel through the exchange.
     */
    public static long park(JobID job, long key, byte[] bytes) {
        Registry r = JOBS.get(job);
        if (r == null) {
            return 0;
        }
        int subtask = KeyGroupRangeAssignment.assignKeyToParallelOperator(key, r.maxParallelism, r.parallelism);
        if (!r.subtasks.containsKey(subtask)) {
            return 0;
        }
        if (r.parkedBytes.addAndGet(bytes.length) > BUDGET_BYTES) {
            r.parkedBytes.addAndGet(-bytes.length);
            return 0;
        }
        long id = NEXT_ID.getAndIncrement();
        r.parked.put(id, new Parked(subtask, bytes));
        return id;
    }

    /** The bytes parked under {@code id}, removed from here; null if they are not here. */
    public static byte[] take(JobID job, long id) {
        Registry r = JOBS.get(job);
        if (r == null) {
            return null;
        }
        Parked p = r.unpark(id);
        return p == null ? null : p.bytes();
    }

    /** Bytes parked for {@code job} now. */
    public static long parkedBytes(JobID job) {
        Registry r = JOBS.get(job);
        return r == null ? 0 : r.parkedBytes.get();
    }

    /**
     * An aggregator here wrote chunk {@code chunk} of model {@code version}, whose bytes hash to {@code digest}.
     * Noted with their CRC32C until the router reads the chunk back; a note of a version older than the one
     * before the newest noted is dropped, so notes that are never read back here (the models topic's partition
     * is read in another JVM) stay a handful of small records.
     */
    public static void wrote(JobID job, int version, int chunk, String digest, byte[] bytes) {
        Registry r = JOBS.get(job);
        if (r == null) {
            return;
        }
        r.written.put(ChunkInput.key(version, chunk), new Written(version, digest, Digests.crc32c(ByteBuffer.wrap(bytes))));
        if (r.newestWritten.getAndAccumulate(version, Math::max) < version) {
            r.written.values().removeIf(w -> w.version() < version - 1);
        }
    }

    /**
     * Whether {@code bytes}, read back from the models topic as chunk {@code chunk} of model {@code version} with
     * {@code digest}, are the bytes an aggregator here hashed to that digest and wrote: the same CRC32C. The note
     * is used once. False when there is none or it differs; the caller then hashes the bytes.
     */
    public static boolean readBackMatches(JobID job, int version, int chunk, String digest, ByteBuffer bytes) {
        Registry r = JOBS.get(job);
        if (r == null) {
            return false;
        }
        Written w = r.written.remove(ChunkInput.key(version, chunk));
        return w != null && w.digest().equals(digest) && w.crc() == Digests.crc32c(bytes);
    }
}
