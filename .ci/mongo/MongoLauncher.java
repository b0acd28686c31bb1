// MongoDB wire-compatible stand-in (de.bwaldvogel:mongo-java-server) for machines without a
// Docker engine. Reports wire version 13 (MongoDB 5.0): pymongo 4.20 refuses anything below 9.
// Usage: java -cp ".ci/mongo/lib/*" .ci/mongo/MongoLauncher.java HOST PORT [H2_FILE]
// With H2_FILE the data lives on disk (used by `make run`), otherwise in memory (tests).
import de.bwaldvogel.mongo.MongoBackend;
import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.MongoVersion;
import de.bwaldvogel.mongo.backend.h2.H2Backend;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;
import de.bwaldvogel.mongo.bson.Document;
import io.netty.channel.Channel;
import java.util.List;
import org.h2.mvstore.MVStore;

public class MongoLauncher {
  // H2's MVStore keeps changes in the JVM heap and writes them to the file once a second, so a
  // kill -9 lost up to a second of acknowledged writes (measured: 223 of 500 inserts). Writing
  // them before each answer puts them in the OS page cache, which outlives the process (not a
  // power loss: there is no fsync per write, like Cassandra's periodic commit log).
  static final class DurableH2Backend extends H2Backend {
    private final MVStore store;

    DurableH2Backend(MVStore store) {
      super(store);
      this.store = store;
    }

    @Override
    public Document handleCommand(Channel channel, String db, String command, Document query) {
      try {
        return super.handleCommand(channel, db, command, query);
      } finally {
        if (store.hasUnsavedChanges()) {
          store.commit();
        }
      }
    }
  }

  public static void main(String[] args) throws Exception {
    String host = args.length > 0 ? args[0] : "127.0.0.1";
    int port = args.length > 1 ? Integer.parseInt(args[1]) : 27017;
    MongoVersion version = new MongoVersion() {
      public List<Integer> getVersionArray() { return List.of(5, 0, 0); }
      public int getWireVersion() { return 13; }
    };
    MongoBackend backend;
    H2Backend h2 = null;
    if (args.length > 2 && !args[2].isEmpty()) {
      h2 = new DurableH2Backend(new MVStore.Builder().fileName(args[2]).autoCommitDisabled().open());
      backend = h2.version(version);
    } else {
      backend = new MemoryBackend().version(version);
    }
    MongoServer server = new MongoServer(backend);
    server.bind(host, port);
    final H2Backend store = h2;
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      server.shutdownNow();
      if (store != null) { store.close(); }
    }));
    System.out.println("mongo-java-server listening on " + host + ":" + port
        + (store != null ? " (h2 " + args[2] + ")" : " (memory)"));
    System.out.flush();
    Thread.currentThread().join();
  }
}
