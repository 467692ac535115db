package io.fedstream.bench;

import com.sun.management.GarbageCollectionNotificationInfo;
import java.io.IOException;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.lang.management.MemoryUsage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import javax.management.Notification;
import javax.management.NotificationEmitter;
import javax.management.NotificationListener;
import javax.management.openmbean.CompositeData;

/**
 * Peak memory of this JVM: heap after every garbage collection (from GC notifications), live heap after full
 * collections, sampled heap use, and the resident set's high-water mark ({@code VmHWM} in /proc/self/status).
 * With {@code forcedGcMillis > 0} a full collection runs at that interval, so the live heap is sampled exactly
 * even when the collector itself rarely runs a full one.
 */
public final class MemoryMonitor implements AutoCloseable {
    private final Set<String> heapPools = new HashSet<>();
    private final AtomicLong peakAfterGc = new AtomicLong();
    private final AtomicLong peakAfterFullGc = new AtomicLong();
    private final AtomicLong gcCount = new AtomicLong();
    private final AtomicLong fullGcCount = new AtomicLong();
    private final AtomicLong peakUsedSampled = new AtomicLong();
    private final AtomicLong peakRssSampled = new AtomicLong();
    private final List<Runnable> unregister = new ArrayList<>();
    private final long forcedGcMillis;
    private final Thread sampler;
    private volatile boolean stopped;
    private volatile long idleLiveHeap = -1;

    public MemoryMonitor(long forcedGcMillis) {
        this.forcedGcMillis = forcedGcMillis;
        for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
            if (pool.getType() == MemoryType.HEAP) {
                heapPools.add(pool.getName());
            }
        }
        NotificationListener listener = this::onNotification;
        for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
            if (gc instanceof NotificationEmitter emitter) {
                emitter.addNotificationListener(listener, null, null);
                unregister.add(() -> {
                    try {
                        emitter.removeNotificationListener(listener);
                    } catch (Exception ignored) {
                        // Already gone.
                    }
                });
            }
        }
        sampler = new Thread(this::sample, "memory-monitor");
        sampler.setDaemon(true);
        sampler.start();
    }

    private void onNotification(Notification n, Object handback) {
        if (!GarbageCollectionNotificationInfo.GARBAGE_COLLECTION_NOTIFICATION.equals(n.getType())) {
            return;
        }
        GarbageCollectionNotificationInfo info = GarbageCollectionNotificationInfo.from((CompositeData) n.getUserData());
        long after = 0;
        for (Map.Entry<String, MemoryUsage> e : info.getGcInfo().getMemoryUsageAfterGc().entrySet()) {
            if (heapPools.contains(e.getKey())) {
                after += e.getValue().getUsed();
            }
        }
        gcCount.incrementAndGet();
        peakAfterGc.accumulateAndGet(after, Math::max);
        if (info.getGcAction().contains("major")) {
            fullGcCount.incrementAndGet();
            peakAfterFullGc.accumulateAndGet(after, Math::max);
        }
    }

    private void sample() {
        long nextGc = forcedGcMillis > 0 ? System.currentTimeMillis() + forcedGcMillis : Long.MAX_VALUE;
        while (!stopped) {
            peakUsedSampled.accumulateAndGet(ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed(), Math::max);
            peakRssSampled.accumulateAndGet(procStatus("VmRSS"), Math::max);
            if (System.currentTimeMillis() >= nextGc) {
                System.gc();
                nextGc = System.currentTimeMillis() + forcedGcMillis;
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /** Runs a full collection now and remembers the live heap as the idle baseline. */
    public long markIdle() {
        System.gc();
        // A full collection is synchronous: what is used right after it is what lives.
        idleLiveHeap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
        return idleLiveHeap;
    }

    /** A value of /proc/self/status in bytes (its kB figure times 1024), or -1 where there is no /proc. */
    static long procStatus(String key) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith(key + ":")) {
                    String[] parts = line.substring(key.length() + 1).trim().split("\\s+");
                    return Long.parseLong(parts[0]) * 1024;
                }
            }
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        return -1;
    }

    /** Every figure, in bytes and counts. */
    public Map<String, Object> report() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("peakLiveHeapBytes", peakAfterFullGc.get());
        m.put("peakHeapAfterGcBytes", peakAfterGc.get());
        m.put("peakHeapUsedSampledBytes", peakUsedSampled.get());
        m.put("idleLiveHeapBytes", idleLiveHeap);
        m.put("peakRssBytes", procStatus("VmHWM"));
        m.put("peakRssSampledBytes", peakRssSampled.get());
        m.put("maxHeapBytes", Runtime.getRuntime().maxMemory());
        m.put("gcCount", gcCount.get());
        m.put("fullGcCount", fullGcCount.get());
        m.put("forcedGcMillis", forcedGcMillis);
        return m;
    }

    @Override
    public void close() throws InterruptedException {
        stopped = true;
        sampler.interrupt();
        sampler.join(5_000);
        unregister.forEach(Runnable::run);
    }
}
