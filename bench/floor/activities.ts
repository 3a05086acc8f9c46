/** The floor bench's activities: each returns at once, so what is measured is Temporal's and the SDK's own cost. */
export const floorCoordinatorActivities = {
  async admit(prompt: string): Promise<string> {
    return `admitted:${prompt}`;
  },
  async verify(result: string): Promise<string> {
    return `verified:${result}`;
  },
  async settle(verified: string): Promise<string> {
    return `settled:${verified}`;
  },
};
export type FloorCoordinatorActivities = typeof floorCoordinatorActivities;

export const floorNodeActivities = {
  async execute(admitted: string): Promise<string> {
    return `executed:${admitted}`;
  },
};
export type FloorNodeActivities = typeof floorNodeActivities;
