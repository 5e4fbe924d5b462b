"""Queue: the priority of each unseen picture and the device's review queue."""
