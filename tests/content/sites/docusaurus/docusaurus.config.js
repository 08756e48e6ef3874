// @ts-check
const config = {
  title: 'Bench Notes',
  url: 'https://bench.example.dev',
  baseUrl: '/',
  presets: [
    [
      'classic',
      {
        blog: { showReadingTime: true },
      },
    ],
  ],
};

module.exports = config;
