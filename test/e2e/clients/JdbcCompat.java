// pgJDBC through a `postern connect` listener: one JSON line per step (client-stack.ts), each a
// feature applications rely on: server-side prepares past prepareThreshold, batches with and
// without reWriteBatchedInserts, DatabaseMetaData, fetch-size cursors (Execute with a row limit,
// PortalSuspended), binary transfer, and autosave (a SAVEPOINT sent as a simple Query inside the
// extended-protocol batch of each statement of a transaction).
// Usage: java -cp postgresql.jar JdbcCompat.java <port>
import java.math.BigDecimal;
import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.sql.Types;
import java.time.Instant;
import java.util.Arrays;

public class JdbcCompat {
  static String port;

  static final String CUSTOMERS =
      "SELECT id, full_name, email, phone, card_number, national_id, city FROM customers";

  static Connection open(String params) throws SQLException {
    return DriverManager.getConnection(
        "jdbc:postgresql://127.0.0.1:" + port + "/any?user=any&password=ignored&sslmode=disable&connectTimeout=20" + params);
  }

  static String json(String s) {
    if (s == null) return "null";
    StringBuilder b = new StringBuilder("\"");
    for (char ch : s.toCharArray()) {
      if (ch == '"' || ch == '\\') b.append('\\').append(ch);
      else if (ch < 0x20) b.append(String.format("\\u%04x", (int) ch));
      else b.append(ch);
    }
    return b.append('"').toString();
  }

  /** Every row as an array of strings (bytea as hex). */
  static String rows(ResultSet rs) throws SQLException {
    int n = rs.getMetaData().getColumnCount();
    StringBuilder b = new StringBuilder("[");
    boolean first = true;
    while (rs.next()) {
      b.append(first ? "[" : ",[");
      first = false;
      for (int i = 1; i <= n; i++) {
        if (i > 1) b.append(',');
        if (rs.getMetaData().getColumnType(i) == Types.BINARY) {
          byte[] v = rs.getBytes(i);
          StringBuilder h = new StringBuilder();
          if (v != null) for (byte x : v) h.append(String.format("%02x", x));
          b.append(v == null ? "null" : json(h.toString()));
        } else b.append(json(rs.getString(i)));
      }
      b.append(']');
    }
    return b.append(']').toString();
  }

  interface Step {
    String run() throws Exception;
  }

  static void step(String name, Step s) {
    String line;
    try {
      line = "{\"step\":" + json(name) + ",\"ok\":true,\"out\":" + s.run() + "}";
    } catch (Exception e) {
      String state = e instanceof SQLException ? ((SQLException) e).getSQLState() : null;
      line = "{\"step\":" + json(name) + ",\"ok\":false,\"error\":" + json(e.toString()) + ",\"pgcode\":" + json(state) + "}";
    }
    System.out.println(line);
    System.out.flush();
  }

  /** One PreparedStatement run 10 times; then what the server holds as prepared statements. */
  static String prepared(int threshold) throws SQLException {
    try (Connection c = open("&prepareThreshold=" + threshold)) {
      StringBuilder b = new StringBuilder("{\"runs\":[");
      try (PreparedStatement ps = c.prepareStatement(CUSTOMERS + " WHERE id = ?")) {
        for (int t = 0; t < 10; t++) {
          ps.setInt(1, t + 1);
          try (ResultSet rs = ps.executeQuery()) {
            b.append(t > 0 ? "," : "").append(rows(rs));
          }
        }
      }
      try (Statement st = c.createStatement();
          ResultSet rs = st.executeQuery("SELECT statement FROM pg_prepared_statements ORDER BY name")) {
        b.append("],\"server\":").append(rows(rs));
      }
      return b.append('}').toString();
    }
  }

  static String batch(boolean rewrite, int base) throws SQLException {
    try (Connection c = open("&reWriteBatchedInserts=" + rewrite);
        PreparedStatement ps = c.prepareStatement("INSERT INTO items (id, name, price) VALUES (?, ?, ?)")) {
      for (int i = 0; i < 50; i++) {
        ps.setInt(1, base + i);
        ps.setString(2, "batch " + (base + i));
        ps.setBigDecimal(3, new BigDecimal(i));
        ps.addBatch();
      }
      return Arrays.toString(ps.executeBatch()).replace(" ", "");
    }
  }

  /**
   * A transaction that goes on after a failed statement: with autosave=always pgJDBC sends
   * `SAVEPOINT PGJDBC_AUTOSAVE` as a simple Query between the Execute of BEGIN and the Parse of
   * the statement, before their Sync, and rolls back to it when the statement fails.
   */
  static String autosave(String mode, int id) throws SQLException {
    try (Connection c = open("&autosave=" + mode)) {
      c.setAutoCommit(false);
      String dup = null;
      try (PreparedStatement ps = c.prepareStatement("INSERT INTO items (id, name) VALUES (?, ?)")) {
        ps.setInt(1, id);
        ps.setString(2, "autosave " + mode);
        ps.executeUpdate();
        try {
          ps.executeUpdate();
        } catch (SQLException e) {
          dup = e.getSQLState();
        }
        ps.setInt(1, id + 1);
        ps.executeUpdate();
      }
      try (Statement st = c.createStatement();
          ResultSet rs = st.executeQuery(CUSTOMERS + " WHERE id <= 3 ORDER BY id")) {
        String read = rows(rs);
        c.commit();
        return "{\"duplicate\":" + json(dup) + ",\"rows\":" + read + "}";
      }
    }
  }

  public static void main(String[] args) throws Exception {
    port = args[0];
    step("prepare-threshold-1", () -> prepared(1));
    step("prepare-threshold-5", () -> prepared(5));
    step("batch-rewrite", () -> batch(true, 1000));
    step("batch-plain", () -> batch(false, 2000));
    try (Connection c = open("")) {
      DatabaseMetaData md = c.getMetaData();
      step("metadata-tables", () -> {
        try (ResultSet rs = md.getTables(null, "public", "%", new String[] {"TABLE"})) {
          return rows(rs);
        }
      });
      step("metadata-columns", () -> {
        try (ResultSet rs = md.getColumns(null, "public", "customers", null)) {
          return rows(rs);
        }
      });
      step("metadata-primary-keys", () -> {
        try (ResultSet rs = md.getPrimaryKeys(null, "public", "customers")) {
          return rows(rs);
        }
      });
      step("fetch-size", () -> {
        c.setAutoCommit(false);
        try (PreparedStatement ps = c.prepareStatement(CUSTOMERS + " ORDER BY id")) {
          ps.setFetchSize(7);
          try (ResultSet rs = ps.executeQuery()) {
            return rows(rs);
          }
        } finally {
          c.commit();
          c.setAutoCommit(true);
        }
      });
    }
    try (Connection c = open("&binaryTransfer=true&prepareThreshold=-1")) {
      step("binary", () -> {
        try (PreparedStatement ps = c.prepareStatement(
            "SELECT ?::int8, ?::numeric, ?::timestamptz, ?::bytea, ARRAY[1.5, 2.5]::float8[],"
                + " 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid, c.* FROM (" + CUSTOMERS + ") c ORDER BY id")) {
          ps.setLong(1, 1L << 40);
          ps.setBigDecimal(2, new BigDecimal("12.345"));
          ps.setTimestamp(3, Timestamp.from(Instant.parse("2024-01-02T03:04:05Z")));
          ps.setBytes(4, new byte[] {0, 1, (byte) 255});
          try (ResultSet rs = ps.executeQuery()) {
            return rows(rs);
          }
        }
      });
    }
    step("autosave-always", () -> autosave("always", 3000));
  }
}
