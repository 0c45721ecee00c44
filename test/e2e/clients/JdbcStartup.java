// pgJDBC with connection properties that become startup parameters (currentSchema is sent as
// search_path, options as options): connects, runs each query and prints its first column per
// row, or "ERR <sqlstate> <message>" for a refused one; a refused connection prints
// "CONNECT-ERR <sqlstate> <message>" and exits 2.
// Usage: java -cp postgresql.jar JdbcStartup.java <port> <url properties> <sql>...
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

public class JdbcStartup {
  public static void main(String[] args) throws Exception {
    String url = "jdbc:postgresql://127.0.0.1:" + args[0] + "/any?user=any&password=ignored&sslmode=disable&" + args[1];
    Connection c;
    try {
      c = DriverManager.getConnection(url);
    } catch (SQLException e) {
      System.out.println("CONNECT-ERR " + e.getSQLState() + " " + e.getMessage());
      System.exit(2);
      return;
    }
    try (c) {
      for (int q = 2; q < args.length; q++) {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(args[q])) {
          while (rs.next()) System.out.println(rs.getString(1));
        } catch (SQLException e) {
          System.out.println("ERR " + e.getSQLState() + " " + e.getMessage());
        }
      }
    }
  }
}
