// Deletes a partition's records below an offset, as Kafka retention does: the test's way to
// make records vanish before a branch read them (the binding has no deleteRecords).
// Usage: java -cp '.kafka/libs/*' test/helpers/DeleteRecords.java <brokers> <topic> <partition> <beforeOffset>
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.common.TopicPartition;

public class DeleteRecords {
  public static void main(String[] args) throws Exception {
    Properties props = new Properties();
    props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
    try (Admin admin = Admin.create(props)) {
      TopicPartition partition = new TopicPartition(args[1], Integer.parseInt(args[2]));
      long before = Long.parseLong(args[3]);
      long low = admin.deleteRecords(Map.of(partition, RecordsToDelete.beforeOffset(before))).lowWatermarks().get(partition).get().lowWatermark();
      System.out.println(low);
    }
  }
}
