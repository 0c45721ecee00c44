// pgJDBC with default settings (prepareThreshold=5, binary transfer): runs each query given on
// the command line as a PreparedStatement N times and prints every row, tab-separated, so the
// test can look for masked values in what a plain JDBC application would read.
// Usage: java -cp postgresql.jar JdbcRows.java <port> <times> <sql>...
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;

public class JdbcRows {
  public static void main(String[] args) throws Exception {
    String url = "jdbc:postgresql://127.0.0.1:" + args[0] + "/any?user=any&password=ignored&sslmode=disable";
    int times = Integer.parseInt(args[1]);
    try (Connection c = DriverManager.getConnection(url)) {
      for (int q = 2; q < args.length; q++) {
        try (PreparedStatement ps = c.prepareStatement(args[q])) {
          for (int t = 0; t < times; t++) {
            try (ResultSet rs = ps.executeQuery()) {
              int n = rs.getMetaData().getColumnCount();
              while (rs.next()) {
                StringBuilder line = new StringBuilder("run " + t + ":");
                for (int i = 1; i <= n; i++) line.append('\t').append(rs.getString(i));
                System.out.println(line);
              }
            }
          }
        }
      }
      // A fetch-size cursor: rows come in portal-suspended batches of 3.
      c.setAutoCommit(false);
      try (PreparedStatement ps = c.prepareStatement("select * from customers")) {
        ps.setFetchSize(3);
        try (ResultSet rs = ps.executeQuery()) {
          int n = rs.getMetaData().getColumnCount();
          while (rs.next()) {
            StringBuilder line = new StringBuilder("fetch:");
            for (int i = 1; i <= n; i++) line.append('\t').append(rs.getString(i));
            System.out.println(line);
          }
        }
      }
      c.commit();
    }
  }
}
